// The broker's side of the Raft contract: its state machines implement @blazar/raft's
// `StateMachine` (apply committed entries in order, snapshot, restore), and skip Raft's own
// entries (kind RAFT_ENTRY_KIND). Also the broker's invariant assertion.
import { RAFT_ENTRY_KIND } from '@blazar/raft'

export type { StateMachine } from '@blazar/raft'

/** Raft's own entry kind (no-ops, membership): not the broker's business. */
export const RAFT_INTERNAL_KIND = RAFT_ENTRY_KIND

/** Thrown when an invariant of the broker's own state is broken: stop rather than go on wrong. */
export class BrokerInvariantError extends Error {
  static readonly code = 'BROKER_INVARIANT'
  readonly code = BrokerInvariantError.code
  constructor (message: string) {
    super(message)
    this.name = 'BrokerInvariantError'
  }
}

export function assert (condition: boolean, message: string): asserts condition {
  if (!condition) throw new BrokerInvariantError(message)
}
