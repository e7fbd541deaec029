// The node's Clock: SystemClock's monotonic timeline anchored at the Unix epoch when the
// process started, in whole milliseconds. The broker stamps publish times and applies
// retention by time with `now()`, so it must read as wall-clock time; anchoring once (instead
// of reading Date.now() each time) keeps it monotonic across wall-clock adjustments, as Raft's
// timers require.
import type { Clock, TimerHandle } from '@blazar/env'
import { SystemClock } from '@blazar/transport'

export class WallClock implements Clock {
  readonly timers: SystemClock
  private readonly anchor: number

  constructor (options: { resolutionMs: number }) {
    this.timers = new SystemClock({ resolutionMs: options.resolutionMs })
    this.anchor = Date.now() - this.timers.now()
  }

  now (): number {
    return Math.floor(this.anchor + this.timers.now())
  }

  setTimer (delayMs: number, fire: () => void): TimerHandle {
    return this.timers.setTimer(delayMs, fire)
  }

  clearTimer (handle: TimerHandle): void {
    this.timers.clearTimer(handle)
  }

  stop (): void {
    this.timers.stop()
  }
}
