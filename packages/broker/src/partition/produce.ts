// The produce path's pure steps on a partition leader: admit a producer batch against the
// partition's limits and stamp it with the leader's publish time (the proposal), turn what
// applying it did into the `send` result or a typed error, and map Raft's proposal failures to
// the wire errors clients retry on.
import {
  BackpressureError, BlazarError, LimitExceededError, MessageId, MessageTooLargeError, NotLeaderError, OutcomeUnknownError,
  UnknownError, checkBatchEnvelope, errorFromWire, type BatchEntry, type ClientResult, type PartitionConfig
} from '@blazar/protocol'
import type { PartitionOutcome } from './outcomes.ts'

/**
 * Validates a batch from a `send` request and builds the entry to propose, carrying the
 * request's `previousSequenceId` (checked when applied); throws MessageTooLarge or MalformedMessage.
 */
export function admitBatch (batch: unknown, config: PartitionConfig, now: number, previousSequenceId?: number): { kind: 'batch', body: BatchEntry } {
  const envelope = checkBatchEnvelope(batch, config.maxMessageSize)
  if (envelope.body.length > config.maxMessageSize) throw new MessageTooLargeError({ size: envelope.body.length, maxMessageSize: config.maxMessageSize })
  const body: BatchEntry = { ...envelope, publishTime: now }
  if (previousSequenceId !== undefined) body.previousSequenceId = previousSequenceId
  return { kind: 'batch', body }
}

/**
 * The `send` result for the outcome at the proposal's index: the first message's ID, or for a
 * deduplicated batch `duplicate: true` with no new ID (`MessageId.earliest`, as Pulsar answers
 * -1:-1). A rejected batch throws its error; a missing outcome throws OutcomeUnknownError.
 */
export function sendResultOf (outcome: PartitionOutcome | undefined, partition: number, sequence: { firstSequenceId: number, lastSequenceId: number }): ClientResult<'send'> {
  if (outcome === undefined) throw new OutcomeUnknownError({ operation: 'send', reason: 'the outcome was evicted before it was read' })
  switch (outcome.kind) {
    case 'stored':
      return { ...sequence, messageId: outcome.firstMessageId, duplicate: false }
    case 'duplicate':
      return { ...sequence, messageId: MessageId.earliest(partition).toData(), duplicate: true }
    case 'rejected':
      throw errorFromWire(outcome.error)
    default:
      throw new UnknownError({ originalCode: 'UNEXPECTED_OUTCOME' }, `send applied as ${outcome.kind}`)
  }
}

/**
 * The wire error for a failed `RaftNode.propose` on `group`: not the leader (or transferring,
 * corrupted: try elsewhere) → NOT_LEADER with the hint; leadership lost before commit, or the
 * node stopped with the proposal pending → OUTCOME_UNKNOWN; too many pending proposals, or the
 * node's storage write queue full → BACKPRESSURE (nothing was appended: retry later); an entry
 * over a storage limit → LIMIT_EXCEEDED (retrying cannot help). Blazar errors pass through.
 */
export function proposalError (error: unknown, group: string): BlazarError {
  if (error instanceof BlazarError) return error
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'NOT_LEADER': {
      const hint = (error as { leaderHint?: unknown }).leaderHint
      return new NotLeaderError({ group, leaderHint: typeof hint === 'string' ? hint : null })
    }
    case 'TRANSFER_IN_PROGRESS':
    case 'STORAGE_CORRUPTED':
      return new NotLeaderError({ group, leaderHint: null }, `${group}: ${message}`)
    case 'LEADERSHIP_LOST':
    // RaftNode.stop() also rejects proposals already in the log, which may still commit.
    case 'RAFT_STOPPED':
      return new OutcomeUnknownError({ operation: 'propose', reason: message })
    case 'BACKPRESSURE':
      return new BackpressureError({ resource: `proposals of ${group}`, limit: -1 }, message)
    case 'STORAGE_BACKPRESSURE':
      return new BackpressureError({ resource: `storage write queue of ${group}`, limit: numberField(error, 'limit') }, message)
    case 'STORAGE_LIMIT': {
      const limit = (error as { limit?: unknown }).limit
      return new LimitExceededError({
        limit: typeof limit === 'string' ? limit : 'storage', value: numberField(error, 'value'), max: numberField(error, 'max')
      }, `${group}: ${message}`)
    }
    default:
      return new UnknownError({ originalCode: typeof code === 'string' ? code : 'INTERNAL' }, message)
  }
}

/** A numeric field of an error from another package (-1 when absent). */
function numberField (error: unknown, field: string): number {
  const value = (error as Record<string, unknown> | null)?.[field]
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= -1 ? value : -1
}
