// What the broker workload records and the queue oracles judge: each producer send (its batch,
// attempts, whether every attempt was refused before anything was proposed, and its outcome),
// each committed partition-log entry as the first replica applied it, and per subscription what
// its consumers received and acknowledged.
import type { SubscriptionType } from '@blazar/protocol'

export type SendStatus = 'pending' | 'acked' | 'failed'

export interface SendRecord {
  /** `producer#firstSequenceId`: a batch's identity across its retries. */
  key: string
  producer: string
  firstSequenceId: number
  lastSequenceId: number
  messageCount: number
  bodyHash: number
  status: SendStatus
  /**
   * Every attempt so far was refused before the broker proposed anything (NOT_LEADER,
   * BACKPRESSURE, or the request never reached a live node): the batch cannot be in the log.
   * One attempt with an unknown outcome (OUTCOME_UNKNOWN, a timeout, a connection lost after
   * the node took the request) makes the send indefinite for good.
   */
  definite: boolean
  attempts: number
  /** Raft index of the acknowledged MessageId; null while unacknowledged or for a deduplicated ack. */
  messageIndex: number | null
  invokedTime: number
  completedTime: number | null
  /** A poison message (one message): the dead-letter consumers never accept it. */
  poison?: boolean
}

/** A committed log entry as the oracles saw it first applied. */
export interface LoggedEntry {
  index: number
  /** The batch it holds and whether the state machine stored it (dedup may drop it); null for other entries. */
  batch: { key: string, producer: string, firstSequenceId: number, lastSequenceId: number, bodyHash: number, stored: boolean } | null
  kind: number
}

export interface SubscriptionRecord {
  name: string
  type: SubscriptionType
  /** Batch indexes received at least once by a consumer's current session. */
  delivered: Set<number>
  /** Position in the stored-batch list of the first batch not yet delivered (Exclusive). */
  undeliveredFrom: number
  /** Highest first delivery so far (Exclusive order). */
  highestFirstDelivery: number
  /** Batch indexes a consumer acknowledged whole (every message of the batch). */
  acked: Set<number>
  /** Per batch not acknowledged whole yet, the messages (batch indexes) consumers acknowledged one by one. */
  ackedParts: Map<number, Set<number>>
  /** Highest cumulative acknowledgement (everything at or below is acknowledged). */
  cumulativeTo: number
  /** Key_Shared: per batch key, the highest index first delivered (per-key order). */
  highestFirstByKey: Map<string, number>
  /** Set by an answered seek: nothing below it may be delivered any more. */
  seekFloor?: number
}

export function sendKey (producer: string, firstSequenceId: number): string {
  return `${producer}#${firstSequenceId}`
}

export function describeEntry (entry: LoggedEntry | undefined): string {
  if (entry === undefined) return 'no committed entry'
  if (entry.batch === null) return `a non-batch entry (kind ${entry.kind})`
  return `batch ${entry.batch.key}..${entry.batch.lastSequenceId}${entry.batch.stored ? '' : ' (deduplicated)'}`
}
