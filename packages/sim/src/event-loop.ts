// The simulations' event loop over the virtual clock: fire the next timer, let its promise
// continuations run (EventSettler.afterEvent), consult the oracles, check the stop condition,
// until a virtual deadline. One copy for the KV/broker simulation and the node simulation.
import type { VirtualClock } from '@blazar/env'
import type { Oracles } from './oracles.ts'

/** Microtask-queue turns granted after each event before the next event at the same virtual time. */
export const MICROTASK_TURNS = 8
/** Events between two full drains of the microtask queue (taken when virtual time advances). */
export const FULL_DRAIN_EVENTS = 64
/** Events one run may process, at most: beyond it the run is a runaway (a livelock or a loop). */
export const MAX_EVENTS_PER_RUN = 20_000_000

/** Thrown through a scenario script (any workload's) to stop it at the first violation. */
export class SimulationStopped extends Error {
  static readonly code = 'SIMULATION_STOPPED'
  readonly code = SimulationStopped.code
  constructor () {
    super('simulation stopped at a violation')
    this.name = 'SimulationStopped'
  }
}

/**
 * Runs one simulation's scenario script: a throw other than SimulationStopped, and node code
 * that throws outside any call the harness made (in a microtask of its own, which would
 * otherwise kill the process), are reported as that run's `node-error`.
 */
export async function runScenarioScript (report: (invariant: 'node-error', message: string) => void, script: () => Promise<void>): Promise<void> {
  const describe = (error: unknown): string => error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const onUncaught = (error: unknown): void => { report('node-error', `uncaught ${describe(error)}`) }
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
  try {
    await script()
  } catch (error) {
    if (!(error instanceof SimulationStopped)) report('node-error', `scenario threw ${describe(error)}`)
  } finally {
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onUncaught)
  }
}

/** Resolves after one real turn of the event loop: every queued promise continuation has run. */
export const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

/**
 * Steps `clock` to `until`, running `afterEvent` after each event, and stops early once `done()`
 * holds (checked first, then after every event); answers whether it held. Continuations of what
 * the caller just did (a node's async start) run before the first event.
 */
export async function stepUntil (clock: VirtualClock, until: number, afterEvent: () => Promise<void>, done: () => boolean = () => false): Promise<boolean> {
  await settle()
  if (done()) return true
  while (clock.step(until)) {
    await afterEvent()
    if (done()) return true
  }
  clock.runUntilSync(until)
  return done()
}

/**
 * What runs after every event of a simulation: MICROTASK_TURNS turns of the microtask queue
 * (enough for the nodes' async chains), and a full drain (one real setImmediate turn) before
 * virtual time moves on, at most every FULL_DRAIN_EVENTS events (a real event-loop turn per
 * event was most of a run's wall time); then the oracles' end of event, a node error as a
 * violation, and the runaway bound. Deeper continuations run a little later in virtual time;
 * every choice here is deterministic.
 */
export class EventSettler {
  /** Events processed so far. */
  events = 0
  private sinceDrain = 0
  private readonly clock: VirtualClock
  private readonly oracles: Oracles
  private readonly nodeErrors: () => readonly string[]

  constructor (clock: VirtualClock, oracles: Oracles, nodeErrors: () => readonly string[]) {
    this.clock = clock
    this.oracles = oracles
    this.nodeErrors = nodeErrors
  }

  /** stepUntil's afterEvent; throws SimulationStopped at a violation. */
  readonly afterEvent = async (): Promise<void> => {
    for (let i = 0; i < MICROTASK_TURNS; i++) await null
    const next = this.clock.nextDeadline()
    if (++this.sinceDrain >= FULL_DRAIN_EVENTS && (next === undefined || next > this.clock.now())) {
      this.sinceDrain = 0
      await settle()
    }
    this.events++
    this.oracles.endOfEvent()
    const errors = this.nodeErrors()
    if (errors.length > 0) this.oracles.report('node-error', errors[0] as string)
    if (this.events > MAX_EVENTS_PER_RUN) this.oracles.report('liveness-leader', `more than ${MAX_EVENTS_PER_RUN} events: runaway simulation`)
    if (this.oracles.violation !== null) throw new SimulationStopped()
  }
}
