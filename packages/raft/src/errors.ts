// The typed errors of @blazar/raft: one class per failure, each with a stable `name` and `code`
// that callers branch on.
import type { NodeId } from '@blazar/env'

/**
 * Refusals (not leader, leadership lost, backpressure, stopped) are expected control flow, often
 * on the hot path: their constructors skip the stack capture, which costs more than the call.
 * `quiet()` before `super()` and `loud()` right after bracket it.
 */
let savedStackLimit = Error.stackTraceLimit
function quiet (): void {
  savedStackLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
}
function loud (): void {
  Error.stackTraceLimit = savedStackLimit
}

/** This node is not the leader; retry at `leaderHint` (null when unknown). */
export class NotLeaderError extends Error {
  static readonly code = 'NOT_LEADER'
  readonly code = NotLeaderError.code
  readonly leaderHint: NodeId | null
  constructor (leaderHint: NodeId | null) {
    quiet()
    super(`not the leader${leaderHint === null ? '' : `; leader is ${leaderHint}`}`)
    loud()
    this.name = 'NotLeaderError'
    this.leaderHint = leaderHint
  }
}

/** Leadership changed before the operation committed: it may or may not take effect. */
export class LeadershipLostError extends Error {
  static readonly code = 'LEADERSHIP_LOST'
  readonly code = LeadershipLostError.code
  constructor (what: string) {
    quiet()
    super(`leadership lost before ${what} completed; outcome unknown`)
    loud()
    this.name = 'LeadershipLostError'
  }
}

/** Too many operations are waiting (config.maxPendingProposals): back off and retry. */
export class BackpressureError extends Error {
  static readonly code = 'BACKPRESSURE'
  readonly code = BackpressureError.code
  constructor (limit: number) {
    quiet()
    super(`more than ${limit} operations pending`)
    loud()
    this.name = 'BackpressureError'
  }
}

/** A read forwarded to the leader got no answer within an election timeout: retry. */
export class ReadTimeoutError extends Error {
  static readonly code = 'READ_TIMEOUT'
  readonly code = ReadTimeoutError.code
  constructor () {
    quiet()
    super('no read index from the leader within an election timeout')
    loud()
    this.name = 'ReadTimeoutError'
  }
}

/** A leader transfer is in progress; proposals are refused until it completes or aborts. */
export class TransferInProgressError extends Error {
  static readonly code = 'TRANSFER_IN_PROGRESS'
  readonly code = TransferInProgressError.code
  constructor (to: NodeId) {
    super(`leadership is being transferred to ${to}`)
    this.name = 'TransferInProgressError'
  }
}

/** The leader transfer did not complete within an election timeout, or was refused. */
export class TransferFailedError extends Error {
  static readonly code = 'TRANSFER_FAILED'
  readonly code = TransferFailedError.code
  constructor (reason: string) {
    super(`leader transfer failed: ${reason}`)
    this.name = 'TransferFailedError'
  }
}

/** A membership change was refused (another one pending, not ready, or invalid). */
export class ConfigChangeError extends Error {
  static readonly code = 'CONFIG_CHANGE_REJECTED'
  readonly code = ConfigChangeError.code
  constructor (reason: string) {
    super(`membership change rejected: ${reason}`)
    this.name = 'ConfigChangeError'
  }
}

/** The node was stopped (crash or shutdown) before the operation completed. */
export class RaftStoppedError extends Error {
  static readonly code = 'RAFT_STOPPED'
  readonly code = RaftStoppedError.code
  constructor () {
    quiet()
    super('raft node stopped')
    loud()
    this.name = 'RaftStoppedError'
  }
}

/** The node's storage reported corruption: it neither votes nor leads. */
export class StorageCorruptedError extends Error {
  static readonly code = 'STORAGE_CORRUPTED'
  readonly code = StorageCorruptedError.code
  constructor (reason: string) {
    super(`storage corrupted: ${reason}`)
    this.name = 'StorageCorruptedError'
  }
}

/** An invariant of the algorithm does not hold: the node stops rather than continue wrong. */
export class RaftInvariantError extends Error {
  static readonly code = 'RAFT_INVARIANT'
  readonly code = RaftInvariantError.code
  constructor (message: string) {
    super(message)
    this.name = 'RaftInvariantError'
  }
}

export function assert (condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftInvariantError(message)
}
