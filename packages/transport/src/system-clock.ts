// Real-time implementations of @blazar/env's Clock and Random for hosts (never for core code or
// the simulator). SystemClock drives all its timers from one Node timer and fires every timer
// due in the same `resolutionMs` slot together: thousands of Raft groups then share a few
// wakeups per slot instead of one each, and the messages they send in one slot leave in one
// frame per peer.
import { TimerHeap, type Clock, type Random, type TimerHandle } from '@blazar/env'
import { assert } from './errors.ts'

interface Timer {
  at: number
  /** The timer's handle. */
  seq: TimerHandle
  fire: () => void
}

/** Timers pending at once; beyond it setTimer throws (a host scheduling more is runaway). */
export const MAX_SYSTEM_TIMERS = 1_000_000

export class SystemClock implements Clock {
  private readonly resolutionMs: number
  private readonly origin = performance.now()
  private readonly timers = new Map<TimerHandle, Timer>()
  private readonly heap = new TimerHeap<Timer>()
  private nextHandle = 1
  private wakeup: NodeJS.Timeout | undefined
  private wakeupAt = Number.POSITIVE_INFINITY
  private readonly onError: (error: unknown) => void

  /** `onError` receives a throw from a timer callback (the default rethrows it asynchronously). */
  constructor (options: { resolutionMs?: number, onError?: (error: unknown) => void } = {}) {
    this.resolutionMs = options.resolutionMs ?? 5
    assert(this.resolutionMs >= 1, 'SystemClock resolutionMs must be >= 1')
    this.onError = options.onError ?? ((error) => { queueMicrotask(() => { throw error }) })
  }

  now (): number {
    return performance.now() - this.origin
  }

  setTimer (delayMs: number, fire: () => void): TimerHandle {
    if (!(delayMs >= 0)) throw new RangeError(`timer delay must be >= 0, got ${delayMs}`)
    if (this.timers.size >= MAX_SYSTEM_TIMERS) throw new RangeError('SystemClock: too many pending timers')
    const timer = { at: this.now() + delayMs, seq: this.nextHandle++, fire }
    this.timers.set(timer.seq, timer)
    this.heap.push(timer)
    this.arm()
    return timer.seq
  }

  clearTimer (handle: TimerHandle): void {
    this.timers.delete(handle)
  }

  /** Number of pending timers. */
  pending (): number {
    return this.timers.size
  }

  /** Cancels every timer and the underlying Node timer. */
  stop (): void {
    this.timers.clear()
    this.heap.clear()
    if (this.wakeup !== undefined) clearTimeout(this.wakeup)
    this.wakeup = undefined
    this.wakeupAt = Number.POSITIVE_INFINITY
  }

  private arm (): void {
    this.dropCancelledHead()
    const head = this.heap.peek()
    if (head === undefined) return
    // Round up to the slot boundary so timers due in the same slot share one wakeup.
    const at = Math.ceil(head.at / this.resolutionMs) * this.resolutionMs
    if (this.wakeup !== undefined && at >= this.wakeupAt) return
    if (this.wakeup !== undefined) clearTimeout(this.wakeup)
    this.wakeupAt = at
    this.wakeup = setTimeout(() => { this.run() }, Math.max(0, at - this.now()))
  }

  private run (): void {
    this.wakeup = undefined
    this.wakeupAt = Number.POSITIVE_INFINITY
    const now = this.now()
    for (;;) {
      this.dropCancelledHead()
      const head = this.heap.peek()
      if (head === undefined || head.at > now) break
      this.heap.pop()
      this.timers.delete(head.seq)
      try { head.fire() } catch (error) { this.onError(error) }
    }
    this.arm()
  }

  private dropCancelledHead (): void {
    this.heap.dropCancelled((timer) => this.timers.has(timer.seq))
  }
}

/** Random from Math.random: for real hosts only (the simulator uses SeededRandom). */
export class MathRandom implements Random {
  next (): number {
    return Math.random()
  }

  int (min: number, maxExclusive: number): number {
    if (maxExclusive <= min) throw new RangeError(`empty range [${min}, ${maxExclusive})`)
    return min + Math.floor(Math.random() * (maxExclusive - min))
  }

  chance (p: number): boolean {
    return Math.random() < p
  }
}
