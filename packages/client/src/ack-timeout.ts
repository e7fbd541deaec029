// Pulsar's UnAckedMessageTracker: with `ackTimeoutMs` set (off by default), every message the
// application received is tracked until it is acknowledged; one that stays unacknowledged for
// `ackTimeoutMs` is handed to `redeliver` (checked every `ackTimeoutTickTimeMs`, Pulsar's 1 s
// tick). Owns the set of received-but-unacknowledged messages of one consumer; at most
// MAX_TRACKED_UNACKED are tracked, beyond that the oldest are redelivered at once.
import type { MessageId } from '@blazar/protocol'
import { messageKey, TopicMessageId } from './message.ts'
import type { TimerHandle, Timers } from './timers.ts'

/** Pulsar's ackTimeoutTickTime default. */
export const DEFAULT_ACK_TIMEOUT_TICK_TIME_MS = 1_000
/** Pulsar's smallest accepted ackTimeout. */
export const MIN_ACK_TIMEOUT_MS = 1_000
/** Received, unacknowledged messages one consumer tracks for the ack timeout. */
export const MAX_TRACKED_UNACKED = 100_000

export class AckTimeoutTracker {
  private readonly timeoutMs: number
  private readonly tickMs: number
  private readonly timers: Timers
  private readonly redeliver: (ids: MessageId[]) => void
  /** Insertion order is deadline order: the timeout is constant. */
  private readonly unacked = new Map<string, { id: MessageId, dueAt: number }>()
  private timer: TimerHandle | undefined

  constructor (options: { timeoutMs: number, tickMs: number, timers: Timers, redeliver: (ids: MessageId[]) => void }) {
    this.timeoutMs = options.timeoutMs
    this.tickMs = options.tickMs
    this.timers = options.timers
    this.redeliver = options.redeliver
  }

  get size (): number {
    return this.unacked.size
  }

  /** The application received `id`. */
  add (id: MessageId): void {
    const key = messageKey(id)
    this.unacked.delete(key)
    this.unacked.set(key, { id, dueAt: this.timers.now() + this.timeoutMs })
    if (this.unacked.size > MAX_TRACKED_UNACKED) {
      const [oldestKey, oldest] = this.unacked.entries().next().value as [string, { id: MessageId }]
      this.unacked.delete(oldestKey)
      this.redeliver([oldest.id])
    }
    this.timer ??= this.timers.setTimeout(() => { this.tick() }, this.tickMs)
  }

  /** `id` was acknowledged (or negatively acknowledged: the nack owns its redelivery now). */
  remove (id: MessageId): void {
    this.unacked.delete(messageKey(id))
  }

  /** A cumulative ack of `id`: every tracked message of its partition up to it. */
  removeUpTo (id: MessageId): void {
    const topic = id instanceof TopicMessageId ? id.topic : undefined
    for (const [key, entry] of this.unacked) {
      const sameTopic = topic === undefined || (entry.id instanceof TopicMessageId && entry.id.topic === topic)
      if (sameTopic && entry.id.partition === id.partition && entry.id.compare(id) <= 0) this.unacked.delete(key)
    }
  }

  /** Forgets the messages of `topic` (its partition was dropped or re-subscribed), or all. */
  clear (topic?: string): void {
    for (const [key, entry] of this.unacked) {
      if (topic === undefined || (entry.id instanceof TopicMessageId && entry.id.topic === topic)) this.unacked.delete(key)
    }
    if (this.unacked.size === 0) {
      this.timer?.cancel()
      this.timer = undefined
    }
  }

  private tick (): void {
    this.timer = undefined
    const now = this.timers.now()
    const due: MessageId[] = []
    for (const [key, entry] of this.unacked) {
      if (entry.dueAt > now) break
      due.push(entry.id)
      this.unacked.delete(key)
    }
    if (due.length > 0) this.redeliver(due)
    if (this.unacked.size > 0) this.timer = this.timers.setTimeout(() => { this.tick() }, this.tickMs)
  }
}
