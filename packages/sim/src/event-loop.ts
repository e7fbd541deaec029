// The simulations' event loop over the virtual clock: fire the next timer, let its promise
// continuations run (the caller's afterEvent), check the stop condition, until a virtual
// deadline. One copy for the KV/broker simulation and the node simulation.
import type { VirtualClock } from '@blazar/env'

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
