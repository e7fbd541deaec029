// The Clock interface: the only way core code reads time or schedules work.
// Times are milliseconds on the clock's own timeline (virtual in the simulator).

export type TimerHandle = number

export interface Clock {
  /** Milliseconds since the clock's epoch. Monotonic: never goes backwards. */
  now (): number
  /** Runs `fire` once after `delayMs` (>= 0). Returns a handle for clearTimer. */
  setTimer (delayMs: number, fire: () => void): TimerHandle
  /** Cancels a pending timer; unknown or fired handles are ignored. */
  clearTimer (handle: TimerHandle): void
}
