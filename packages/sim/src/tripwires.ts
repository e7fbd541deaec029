// Determinism tripwires (DESIGN.md §3): while a seed runs in simulation mode, the globals that
// read real time or real randomness, or schedule on the real event loop, throw instead of
// silently breaking replay. setImmediate stays: VirtualClock's settle() uses it only to drain
// promise continuations between events, which is deterministic.
//
// One narrow exception: xstate v5's scheduler stamps every delayed event with
// `startedAt: Date.now()` (used only to re-arm delays when restoring a persisted snapshot, which
// Raft never does). Date.now called from inside xstate's scheduler returns 0 instead of
// throwing; from anywhere else it throws.

export class DeterminismViolationError extends Error {
  static readonly code = 'DETERMINISM_VIOLATION'
  readonly code = DeterminismViolationError.code
  constructor (what: string, cause?: unknown) {
    const detail = cause instanceof Error ? ` (scheduling a rethrow of ${cause.name}: ${cause.message})` : ''
    super(`${what} called in simulation mode; use the Env (clock, random) instead${detail}`, { cause })
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
  Date.now = () => {
    if (calledFromXstateScheduler()) return 0
    throw new DeterminismViolationError('Date.now')
  }
  Math.random = thrower('Math.random')
  // xstate reports an error thrown inside an actor by rethrowing it from a real setTimeout;
  // run the callback here to name that error in the violation.
  globalThis.setTimeout = ((callback: unknown) => {
    let cause: unknown
    if (typeof callback === 'function') {
      try { callback() } catch (error) { cause = error }
    }
    throw new DeterminismViolationError('setTimeout', cause)
  }) as unknown as typeof setTimeout
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

/** Whether the caller of Date.now is xstate's delayed-event scheduler. */
function calledFromXstateScheduler (): boolean {
  // V8's structured call sites, not the formatted stack: formatting every frame was most of the
  // cost of this check, which runs for every delayed event an actor schedules.
  const limit = Error.stackTraceLimit
  const prepare = Error.prepareStackTrace
  Error.stackTraceLimit = 3
  Error.prepareStackTrace = (_error, callSites) => callSites
  const holder: { stack?: NodeJS.CallSite[] } = {}
  Error.captureStackTrace(holder)
  const sites = holder.stack ?? []
  Error.stackTraceLimit = limit
  Error.prepareStackTrace = prepare
  // sites[0] is this function, [1] the Date.now stub, [2] its caller.
  const caller = sites[2]
  return caller !== undefined && caller.getFunctionName() === 'schedule' && (caller.getFileName() ?? '').includes('/xstate/')
}
