// Determinism tripwires (DESIGN.md §3): while a seed runs in simulation mode, the globals that
// read real time or real randomness, or schedule on the real event loop, throw instead of
// silently breaking replay. setImmediate stays: VirtualClock's settle() uses it only to drain
// promise continuations between events, which is deterministic.

export class DeterminismViolationError extends Error {
  static readonly code = 'DETERMINISM_VIOLATION'
  readonly code = DeterminismViolationError.code
  constructor (what: string) {
    super(`${what} called in simulation mode; use the Env (clock, random) instead`)
    this.name = 'DeterminismViolationError'
  }
}

type Restore = () => void

/** Installs the throwing stubs; returns a function that puts the originals back. */
export function installTripwires (): Restore {
  const originals = {
    dateNow: Date.now,
    mathRandom: Math.random,
    setTimeout: globalThis.setTimeout,
    setInterval: globalThis.setInterval,
    performanceNow: performance.now
  }
  const thrower = (what: string) => () => { throw new DeterminismViolationError(what) }
  Date.now = thrower('Date.now')
  Math.random = thrower('Math.random')
  globalThis.setTimeout = thrower('setTimeout') as unknown as typeof setTimeout
  globalThis.setInterval = thrower('setInterval') as unknown as typeof setInterval
  performance.now = thrower('performance.now')
  return () => {
    Date.now = originals.dateNow
    Math.random = originals.mathRandom
    globalThis.setTimeout = originals.setTimeout
    globalThis.setInterval = originals.setInterval
    performance.now = originals.performanceNow
  }
}
