// Blazar MessageId (partition, Raft index, batch index) <-> Pulsar MessageIdData (ledgerId,
// entryId, partition, batch_index, batch_size, ack_set). A partition is one Raft log, so it is
// one "ledger": ledgerId is the constant PULSAR_LEDGER_ID and entryId the Raft index of the
// batch entry. Pulsar clients order ids by (ledger, entry, batch index), which is then the log
// order; a committed entry keeps its Raft index through leader changes, so ids stay valid and
// ordered across them. batch_index -1 (Pulsar: the whole entry) stays -1. Pulsar's
// MessageId.earliest (-1, -1) arrives as 2^64 - 1 and MessageId.latest as (2^63 - 1, 2^63 - 1).
import type { MessageIdData as PulsarMessageIdData, MessageIdDataInit as PulsarMessageIdDataInit } from '@blazar/pulsar-wire/messages'
import { InvalidArgumentError } from './errors.ts'
import { MAX_MESSAGES_PER_BATCH, MAX_PARTITIONS } from './limits.ts'
import { MessageId } from './message-id.ts'
import { NON_PARTITIONED } from './names.ts'

/** The ledger of every Blazar message id. */
export const PULSAR_LEDGER_ID = 0n
/** Pulsar's MessageId.earliest has ledger and entry -1: 2^64 - 1 as the uint64 on the wire. */
export const PULSAR_EARLIEST_ENTRY = 2n ** 64n - 1n
/** Pulsar's MessageId.latest has ledger and entry Long.MAX_VALUE. */
export const PULSAR_LATEST_ENTRY = 2n ** 63n - 1n

/** The Pulsar id of a Blazar message (batchIndex -1: its whole entry); `batchSize` is the entry's message count, if known. */
export function toPulsarMessageId (id: MessageId, batchSize?: number): PulsarMessageIdDataInit {
  const data: PulsarMessageIdDataInit = {
    ledgerId: PULSAR_LEDGER_ID,
    entryId: BigInt(id.index),
    partition: id.partition,
    batch_index: id.batchIndex
  }
  if (batchSize !== undefined) data.batch_size = batchSize
  return data
}

/**
 * The Blazar id a Pulsar client names: earliest and latest map to MessageId.earliest/latest of
 * that partition; anything else must be an id Blazar gave out, or InvalidArgumentError.
 */
export function fromPulsarMessageId (data: Pick<PulsarMessageIdData, 'ledgerId' | 'entryId' | 'partition' | 'batch_index'>): MessageId {
  const partition = data.partition
  if (!Number.isInteger(partition) || partition < NON_PARTITIONED || partition >= MAX_PARTITIONS) {
    throw new InvalidArgumentError({ argument: 'message_id.partition', reason: `${partition} outside [-1, ${MAX_PARTITIONS})` })
  }
  if (data.ledgerId === PULSAR_EARLIEST_ENTRY || data.entryId === PULSAR_EARLIEST_ENTRY) return MessageId.earliest(partition)
  if (data.ledgerId >= PULSAR_LATEST_ENTRY || data.entryId >= PULSAR_LATEST_ENTRY) return MessageId.latest(partition)
  if (data.ledgerId !== PULSAR_LEDGER_ID) {
    throw new InvalidArgumentError({ argument: 'message_id.ledgerId', reason: `${data.ledgerId} is not a Blazar ledger (${PULSAR_LEDGER_ID})` })
  }
  if (data.entryId > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError({ argument: 'message_id.entryId', reason: `${data.entryId} beyond 2^53` })
  }
  if (!Number.isInteger(data.batch_index) || data.batch_index < -1 || data.batch_index >= MAX_MESSAGES_PER_BATCH) {
    throw new InvalidArgumentError({ argument: 'message_id.batch_index', reason: `${data.batch_index} outside [-1, ${MAX_MESSAGES_PER_BATCH})` })
  }
  return new MessageId(partition, Number(data.entryId), data.batch_index)
}

/**
 * Pulsar's ack_set for a batch of `batchSize` messages: BitSet words (64 bits, lowest first),
 * a bit set for each message NOT yet acknowledged. What MESSAGE carries so a client skips the
 * acknowledged ones, and what a batch-index ACK carries.
 */
export function ackSetOf (batchSize: number, ackedBatchIndexes: Iterable<number>): bigint[] {
  assertBatchSize(batchSize)
  const words = Array.from({ length: Math.ceil(batchSize / 64) }, (_, w) =>
    w < Math.floor(batchSize / 64) ? (1n << 64n) - 1n : (1n << BigInt(batchSize % 64)) - 1n)
  for (const i of ackedBatchIndexes) {
    if (Number.isInteger(i) && i >= 0 && i < batchSize) words[i >> 6] &= ~(1n << BigInt(i & 63))
  }
  return words.map(toSignedWord)
}

/** The batch indexes an ack_set marks acknowledged (bit clear), below `batchSize`. */
export function ackedBatchIndexesOf (ackSet: readonly bigint[], batchSize: number): number[] {
  assertBatchSize(batchSize)
  const acked: number[] = []
  for (let i = 0; i < batchSize; i++) {
    const word = ackSet[i >> 6]
    if (word === undefined || ((BigInt.asUintN(64, word) >> BigInt(i & 63)) & 1n) === 0n) acked.push(i)
  }
  return acked
}

function assertBatchSize (batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_MESSAGES_PER_BATCH) {
    throw new InvalidArgumentError({ argument: 'batch_size', reason: `${batchSize} outside [1, ${MAX_MESSAGES_PER_BATCH}]` })
  }
}

/** ack_set words are int64 on the wire (Java's long[]). */
const toSignedWord = (word: bigint): bigint => BigInt.asIntN(64, word)
