// The state-machine side of the Raft contract (notes/raft-contract.md), as the broker's state
// machines implement it. Structurally identical to @blazar/raft's `StateMachine`, so a
// PartitionStateMachine or MetadataStateMachine can be handed to a RaftNode as is.
import type { LogEntry, SnapshotMeta } from '@blazar/env'

export interface StateMachine {
  /** Committed entries in index order; kind 0 is Raft's own and is skipped. */
  apply (entry: LogEntry): void
  /** The state as of the last applied entry. */
  snapshot (): Uint8Array
  restore (data: Uint8Array, meta: SnapshotMeta): void
}

/** Raft's own entry kind (no-ops, membership): not the broker's business. */
export const RAFT_INTERNAL_KIND = 0

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
