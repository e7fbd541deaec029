// Adapts a Clock to the setTimeout/clearTimeout shape that libraries such as xstate expect for
// their scheduler, so core code can hand them our clock without naming the real globals.
import type { Clock, TimerHandle } from './clock.ts'

export interface TimerApi {
  setTimeout (fire: (...args: unknown[]) => void, delayMs: number): TimerHandle
  clearTimeout (handle: TimerHandle): void
}

export function timerApi (clock: Clock): TimerApi {
  return {
    setTimeout: (fire, delayMs) => clock.setTimer(delayMs, fire),
    clearTimeout: (handle) => clock.clearTimer(handle)
  }
}
