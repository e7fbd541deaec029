// The consumer's receiver queue: messages the node pushed and the application has not taken
// yet, shared by the partitions of one consumer, and the receive() calls waiting for one.
// Both are bounded; a message handed to the application is reported to its partition so it
// can grant flow permits again.
import { BackpressureError, TimeoutError } from '@blazar/protocol'
import type { Message } from './message.ts'
import type { TimerHandle, Timers } from './timers.ts'

/** Concurrent receive() calls one consumer accepts. */
export const MAX_RECEIVE_WAITERS = 10_000

export interface QueueOwner {
  /** The application took `n` of this owner's messages. */
  took (n: number): void
}

interface Waiter {
  resolve: (message: Message) => void
  reject: (error: Error) => void
  timer: TimerHandle | undefined
}

interface Queued {
  message: Message
  owner: QueueOwner
}

export class ReceiverQueue {
  private capacity: number
  private readonly timers: Timers
  private queued: Queued[] = []
  private head = 0
  private readonly waiters: Waiter[] = []
  private closedWith: Error | undefined

  constructor (capacity: number, timers: Timers) {
    this.capacity = capacity
    this.timers = timers
  }

  get size (): number {
    return this.queued.length - this.head
  }

  /** A topic joined (`delta` > 0) or could not join the consumer: its partitions' share of the queue. */
  resize (delta: number): void {
    this.capacity += delta
    if (this.capacity < 0) throw new RangeError(`receiver queue capacity below 0: ${this.capacity}`)
  }

  /**
   * Queues messages (or hands them to waiting receivers); returns those beyond the capacity.
   * A push that starts below the capacity is taken whole: the node sends whole batches while
   * permits remain (as Pulsar does), so the last batch may overshoot them by up to one batch.
   * Handing that overshoot back would make the node replay it over and over.
   */
  push (owner: QueueOwner, messages: readonly Message[]): Message[] {
    const overflow: Message[] = []
    const admitted = this.size < this.capacity
    for (const message of messages) {
      const waiter = this.waiters.shift()
      if (waiter !== undefined) {
        waiter.timer?.cancel()
        owner.took(1)
        waiter.resolve(message)
      } else if (admitted && this.closedWith === undefined) {
        this.queued.push({ message, owner })
      } else {
        overflow.push(message)
      }
    }
    return overflow
  }

  /** The next message; rejects with TimeoutError after `timeoutMs` (waits forever without one). */
  receive (timeoutMs?: number): Promise<Message> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith)
    const next = this.take()
    if (next !== undefined) {
      next.owner.took(1)
      return Promise.resolve(next.message)
    }
    if (this.waiters.length >= MAX_RECEIVE_WAITERS) {
      return Promise.reject(new BackpressureError({ resource: 'receive() calls waiting', limit: MAX_RECEIVE_WAITERS }))
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined }
      if (timeoutMs !== undefined) {
        waiter.timer = this.timers.setTimeout(() => {
          const at = this.waiters.indexOf(waiter)
          if (at >= 0) this.waiters.splice(at, 1)
          reject(new TimeoutError({ operation: 'receive', timeoutMs }))
        }, timeoutMs)
      }
      this.waiters.push(waiter)
    })
  }

  /** Drops the queued messages of `owner` (its subscription is being re-established); returns how many. */
  removeOwner (owner: QueueOwner): number {
    const kept = this.queued.slice(this.head).filter((entry) => entry.owner !== owner)
    const removed = this.size - kept.length
    this.queued = kept
    this.head = 0
    return removed
  }

  /** Fails every waiting receive() and every later one with `error`. */
  close (error: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error
    this.queued = []
    this.head = 0
    for (const waiter of this.waiters.splice(0)) {
      waiter.timer?.cancel()
      waiter.reject(error)
    }
  }

  private take (): Queued | undefined {
    if (this.head >= this.queued.length) return undefined
    const next = this.queued[this.head++]
    if (this.head > 1024 && this.head * 2 > this.queued.length) {
      this.queued = this.queued.slice(this.head)
      this.head = 0
    }
    return next
  }
}
