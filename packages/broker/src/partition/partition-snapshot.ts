// The byte form of a partition state machine's snapshot: config, trim point, the retained
// batch index, cursors, the dedup table and the compaction horizon. Messages themselves stay
// in the Raft log; so does the compacted view, a function of the horizon and the retained log.
// The dead-letter outbox is here (its entries point into the retained log).
import { pack, unpack, schema, MAX_MESSAGES_PER_BATCH, MAX_NAME_LENGTH, MAX_PERSISTED_ACK_RANGES, MAX_PERSISTED_BATCH_ACKS, MAX_SUBSCRIPTIONS_PER_PARTITION, MAX_DEDUP_PRODUCERS, MAX_TOPIC_NAME_LENGTH, SUBSCRIPTION_TYPES, partitionConfigSchema, type PartitionConfig } from '@blazar/protocol'
import type { ProducerRecord } from './dedup-table.ts'
import type { LastBatch } from './partition-state-machine.ts'
import type { CursorState } from './subscription-cursor.ts'
import { MAX_DEAD_LETTER_OUTBOX_ENTRIES, type OutboxState } from './dead-letter-outbox.ts'

const { array, int, literal, object, optional, string, tuple } = schema

/** Batches a snapshot may describe (40 bytes each in memory). */
export const MAX_SNAPSHOT_RETAINED_BATCHES = 50_000_000
const MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024 * 1024 - 1

export interface PartitionSnapshot {
  version: 1
  lastApplied: number
  config: PartitionConfig
  trimmedTo: number
  retained: { indexes: number[], counts: number[], sizes: number[], times: number[] }
  cursors: CursorState[]
  producers: Array<[string, ProducerRecord]>
  messagesIn: number
  bytesIn: number
  /** Absent in snapshots from before it existed, and before the first batch. */
  lastBatch?: LastBatch
  /** Absent in snapshots from before compaction existed, and before the first compaction. */
  compactionHorizon?: number
  /** Absent in snapshots from before dead-letter outboxes existed, and before the first dead letter. */
  deadLetterOutbox?: OutboxState
}

const nat = int({ min: 0, max: Number.MAX_SAFE_INTEGER })
const column = array(nat, { max: MAX_SNAPSHOT_RETAINED_BATCHES })
const name = string({ min: 1, max: MAX_NAME_LENGTH })

const snapshotSchema = object({
  version: literal(1),
  lastApplied: nat,
  config: partitionConfigSchema,
  trimmedTo: nat,
  retained: object({ indexes: column, counts: column, sizes: column, times: column }),
  cursors: array(object({
    subscription: name,
    type: literal(...SUBSCRIPTION_TYPES),
    generation: nat,
    markDelete: nat,
    ackedRanges: array(tuple(nat, nat), { max: MAX_PERSISTED_ACK_RANGES }),
    batchAcks: optional(array(tuple(nat, array(int({ min: 0, max: MAX_MESSAGES_PER_BATCH - 1 }), { max: MAX_MESSAGES_PER_BATCH })), { max: MAX_PERSISTED_BATCH_ACKS }))
  }), { max: MAX_SUBSCRIPTIONS_PER_PARTITION }),
  producers: array(tuple(name, object({ lastSequenceId: nat, lastIndex: nat, lastPublishTime: nat })), { max: MAX_DEDUP_PRODUCERS }),
  messagesIn: nat,
  bytesIn: nat,
  lastBatch: optional(object({ index: nat, messageCount: int({ min: 1, max: MAX_MESSAGES_PER_BATCH }) })),
  compactionHorizon: optional(nat),
  deadLetterOutbox: optional(object({
    nextPosition: nat,
    entries: array(object({
      position: nat, subscription: name, deadLetterTopic: string({ min: 1, max: MAX_TOPIC_NAME_LENGTH }), index: nat, batchIndex: int({ min: 0, max: MAX_MESSAGES_PER_BATCH - 1 })
    }), { max: MAX_DEAD_LETTER_OUTBOX_ENTRIES })
  }))
})

export function encodePartitionSnapshot (snapshot: PartitionSnapshot): Uint8Array {
  return pack(snapshot)
}

export function decodePartitionSnapshot (data: Uint8Array): PartitionSnapshot {
  const snapshot = unpack(data, snapshotSchema, MAX_SNAPSHOT_BYTES)
  return { ...snapshot, cursors: snapshot.cursors.map((cursor) => ({ ...cursor, batchAcks: cursor.batchAcks ?? [] })) } as PartitionSnapshot
}
