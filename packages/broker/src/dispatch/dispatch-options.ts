// What every dispatcher is given: the partition to read from, how to deliver and how to
// propose cursor updates, and its named limits (Pulsar's defaults).
import type { Env } from '@blazar/env'
import { DEFAULT_MAX_MESSAGE_SIZE, type CursorEntry, type DeliveredEntry } from '@blazar/protocol'
import type { StoredBatch } from '../partition/message-cache.ts'
import type { ReadLimits } from '../partition/partition-state-machine.ts'
import type { CursorState } from '../partition/subscription-cursor.ts'
import type { ConsumerRef } from './subscription-lifecycle.ts'

/** What a dispatcher needs from the partition (PartitionStateMachine provides all of it). */
export interface DispatchSource {
  read (from: number, limits: ReadLimits): Promise<StoredBatch[]>
  nextMessageIndex (index: number): number
  onCommit (listener: (batch: StoredBatch) => void): () => void
  /** Messages in retained batches above `index` (stats). */
  messagesAfter (index: number): number
}

export interface DispatchLimits {
  /** Batches per read (Pulsar `dispatcherMaxReadBatchSize` = 100). */
  readBatchEntries: number
  /** Bytes per read. */
  readBatchBytes: number
  /** Messages delivered to one consumer and not yet acknowledged before it gets no more (Pulsar 50,000). */
  maxUnackedMessagesPerConsumer: number
  /** Shared: unacknowledged messages of the whole subscription before dispatch pauses; resumes at half (Pulsar 200,000). */
  maxUnackedMessagesPerSubscription: number
  /** Shared: batches sent to one consumer per round-robin turn (Pulsar `dispatcherMaxRoundRobinBatchSize` = 20). */
  roundRobinBatchSize: number
  /** Acknowledgements are proposed at most this long after they arrive. */
  cursorFlushIntervalMs: number
  /** ...or as soon as this many acknowledged batches are waiting. */
  cursorFlushMaxAcks: number
  /** Wait before retrying a failed read. */
  retryDelayMs: number
  /**
   * Messages waiting in the replay queue before new reads stop (Pulsar
   * `keySharedLookAheadMsgInReplayThresholdPerSubscription` = 20,000): bounds how far Key_Shared
   * reads ahead past keys whose consumer cannot take them.
   */
  replayLookAheadMessages: number
  /**
   * Delayed batches a subscription's dispatcher keeps in memory (Shared, Key_Shared). At the
   * bound the leader refuses new delayed messages (LIMIT_EXCEEDED) and dispatch reads no
   * further past a delayed batch until one is due.
   */
  maxDelayedMessages: number
}

export const DEFAULT_DISPATCH_LIMITS: DispatchLimits = {
  readBatchEntries: 100,
  readBatchBytes: DEFAULT_MAX_MESSAGE_SIZE,
  maxUnackedMessagesPerConsumer: 50_000,
  maxUnackedMessagesPerSubscription: 200_000,
  roundRobinBatchSize: 20,
  cursorFlushIntervalMs: 100,
  cursorFlushMaxAcks: 1_000,
  retryDelayMs: 100,
  replayLookAheadMessages: 20_000,
  maxDelayedMessages: 100_000
}

/** The push form of a batch: its message id, redelivery count and the messages already acknowledged (batch-index acks). */
export function deliveredEntry (partition: number, batch: StoredBatch, redeliveryCount: number, ackedBatchIndexes: number[]): DeliveredEntry {
  const entry: DeliveredEntry = {
    messageId: { partition, index: batch.index, batchIndex: 0 },
    redeliveryCount,
    publishTime: batch.publishTime,
    batch: batch.envelope
  }
  if (ackedBatchIndexes.length > 0) entry.ackedBatchIndexes = ackedBatchIndexes
  return entry
}

export interface DispatcherOptions {
  env: Env
  topic: string
  partition: number
  /** The replicated cursor as of taking over (from PartitionStateMachine.cursor). */
  cursor: CursorState
  source: DispatchSource
  /** Sends committed batches to a consumer (server push `messages`). */
  deliver: (consumer: ConsumerRef, entries: DeliveredEntry[]) => void
  /** Proposes a `cursor` entry through the partition's Raft group; resolves once applied. */
  proposeCursor: (update: CursorEntry) => Promise<void>
  limits?: Partial<DispatchLimits>
}
