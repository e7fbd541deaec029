// Real-time implementations of @blazar/env's Clock and Random for hosts (never for core code or
// the simulator). SystemClock drives all its timers from one Node timer and fires every timer
// due in the same `resolutionMs` slot together: thousands of Raft groups then share a few
// wakeups per slot instead of one each, and the messages they send in one slot leave in one
// frame per peer.
import type { Clock, Random, TimerHandle } from '@blazar/env'
import { assert } from './errors.ts'

interface Timer {
  at: number
  handle: TimerHandle
  fire: () => void
}

/** Timers pending at once; beyond it setTimer throws (a host scheduling more is runaway). */
export const MAX_SYSTEM_TIMERS = 1_000_000

export class SystemClock implements Clock {
  private readonly resolutionMs: number
  private readonly origin = performance.now()
  private readonly timers = new Map<TimerHandle, Timer>()
  private readonly heap: Timer[] = []
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
    const timer = { at: this.now() + delayMs, handle: this.nextHandle++, fire }
    this.timers.set(timer.handle, timer)
    this.push(timer)
    this.arm()
    return timer.handle
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
    this.heap.length = 0
    if (this.wakeup !== undefined) clearTimeout(this.wakeup)
    this.wakeup = undefined
    this.wakeupAt = Number.POSITIVE_INFINITY
  }

  private arm (): void {
    this.dropCancelledHead()
    const head = this.heap[0]
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
      const head = this.heap[0]
      if (head === undefined || head.at > now) break
      this.pop()
      this.timers.delete(head.handle)
      try { head.fire() } catch (error) { this.onError(error) }
    }
    this.arm()
  }

  private dropCancelledHead (): void {
    while (this.heap.length > 0 && !this.timers.has(this.heap[0].handle)) this.pop()
  }

  private push (timer: Timer): void {
    const heap = this.heap
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!earlier(heap[i], heap[parent])) break
      ;[heap[i], heap[parent]] = [heap[parent], heap[i]]
      i = parent
    }
  }

  private pop (): void {
    const heap = this.heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && earlier(heap[left], heap[smallest])) smallest = left
      if (right < heap.length && earlier(heap[right], heap[smallest])) smallest = right
      if (smallest === i) return
      ;[heap[i], heap[smallest]] = [heap[smallest], heap[i]]
      i = smallest
    }
  }
}

function earlier (a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.handle < b.handle)
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
