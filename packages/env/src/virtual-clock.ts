// The simulator's clock: one virtual event queue ordered by (time, sequence number).
// Nothing here reads real time. Timers fire only when the driver advances the clock, each
// at its own deadline, so the same schedule gives the same order of events every run.
import type { Clock, TimerHandle } from './clock.ts'
import { TimerHeap } from './timer-heap.ts'

interface ScheduledEvent {
  at: number
  seq: number
  fire: () => void
}

/** Queue bound: a simulation that schedules more than this is runaway, not busy. */
export const MAX_PENDING_TIMERS = 1_000_000

export class VirtualClock implements Clock {
  private time = 0
  private nextSeq = 1
  private readonly heap = new TimerHeap<ScheduledEvent>()
  private readonly live = new Map<TimerHandle, ScheduledEvent>()

  now (): number {
    return this.time
  }

  setTimer (delayMs: number, fire: () => void): TimerHandle {
    if (!(delayMs >= 0)) throw new RangeError(`timer delay must be >= 0, got ${delayMs}`)
    if (this.live.size >= MAX_PENDING_TIMERS) throw new RangeError('virtual clock: too many pending timers')
    const event = { at: this.time + delayMs, seq: this.nextSeq++, fire }
    this.live.set(event.seq, event)
    this.heap.push(event)
    return event.seq
  }

  clearTimer (handle: TimerHandle): void {
    this.live.delete(handle)
  }

  /** Number of timers that will still fire. */
  pending (): number {
    return this.live.size
  }

  /** Deadline of the next live timer, or undefined. */
  nextDeadline (): number | undefined {
    this.dropCancelledHead()
    return this.heap.peek()?.at
  }

  /** Fires the next timer if its deadline is <= `until`. Returns whether one fired. */
  step (until = Number.POSITIVE_INFINITY): boolean {
    this.dropCancelledHead()
    const head = this.heap.peek()
    if (head === undefined || head.at > until) return false
    this.heap.pop()
    this.live.delete(head.seq)
    this.time = head.at
    head.fire()
    return true
  }

  /**
   * Fires every timer due up to `until`, letting promise continuations settle after each
   * one (so async code reacting to a timer runs before the next timer), then sets now = until.
   */
  async runUntil (until: number): Promise<void> {
    while (this.step(until)) await settle()
    if (until > this.time) this.time = until
  }

  /** Synchronous variant for code that never awaits. */
  runUntilSync (until: number): void {
    while (this.step(until));
    if (until > this.time) this.time = until
  }

  private dropCancelledHead (): void {
    this.heap.dropCancelled((event) => this.live.has(event.seq))
  }
}

/** Resolves after every queued microtask (promise continuation) has run. */
export function settle (): Promise<void> {
  return new Promise((resolve) => { setImmediate(resolve) })
}
