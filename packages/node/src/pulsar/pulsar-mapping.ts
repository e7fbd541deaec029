// Where a Pulsar session's wire values meet the gateway's: the ids MESSAGE, SEND_RECEIPT and
// GET_LAST_MESSAGE_ID carry, the cursor position a reader or SEEK names, the broker-side acks
// an ACK means, and the batch envelope a SEND becomes. The id and ack_set codecs themselves are
// @blazar/protocol's (pulsar-message-id.ts: ledger 0, entry = the partition's Raft index).
import {
  MAX_MESSAGES_PER_BATCH, MessageId, PULSAR_EARLIEST_ENTRY, ackSetOf, ackedBatchIndexesOf, batchEnvelopeFromPulsarSend,
  fromPulsarMessageId, toPulsarMessageId, type BatchEnvelope, type CursorPosition, type DeliveredEntry,
  type MessageIdData as BlazarMessageId
} from '@blazar/protocol'
import type { CommandSend, FramePayload, MessageIdData, MessageIdDataInit } from '@blazar/pulsar-wire'

/** The Pulsar id of a whole entry (batch index -1: the client numbers the messages of a batch itself). */
export function entryIdOf (id: BlazarMessageId): MessageIdDataInit {
  return toPulsarMessageId(new MessageId(id.partition, id.index, -1))
}

/**
 * What GET_LAST_MESSAGE_ID reports for a position: Pulsar's (-1, -1) for none; else its entry,
 * with the batch index when it is past the first message of a batch (Pulsar's broker reports
 * the largest batch index too: the C++ client's has_message_available compares it with the
 * last message read, and would stop after the first message of a batch given -1).
 */
export function lastEntryIdOf (id: BlazarMessageId): MessageIdDataInit {
  if (id.index === 0) return { ledgerId: PULSAR_EARLIEST_ENTRY, entryId: PULSAR_EARLIEST_ENTRY, partition: id.partition }
  return toPulsarMessageId(new MessageId(id.partition, id.index, id.batchIndex > 0 ? id.batchIndex : -1))
}

/** The Blazar id a client names; InvalidArgumentError for one Blazar never gave out. */
export function blazarIdOf (id: MessageIdData): BlazarMessageId {
  return fromPulsarMessageId(id).toData()
}

/** Where a reader or SEEK asks to start: Pulsar's earliest and latest, or a message. */
export function positionOf (id: MessageIdData): CursorPosition {
  const named = fromPulsarMessageId(id)
  if (named.equals(MessageId.earliest(named.partition))) return { at: 'earliest' }
  if (named.equals(MessageId.latest(named.partition))) return { at: 'latest' }
  return { at: 'message', index: named.index, batchIndex: named.batchIndex }
}

/**
 * The broker-side acks for one id of an ACK. A plain id acknowledges its whole entry (batch
 * index -1) or, cumulatively, everything up to its message. An id with an ack_set (batch-index
 * acks) names the batch's messages still unacknowledged: each other one is acknowledged
 * individually, or cumulatively up to the first one still open.
 */
export function acknowledgedIds (id: MessageIdData, ackType: 'Individual' | 'Cumulative'): BlazarMessageId[] {
  const entry = blazarIdOf(id)
  if (id.ack_set.length === 0) return [ackType === 'Individual' ? { ...entry, batchIndex: -1 } : entry]
  const size = Math.min(id.batch_size ?? id.ack_set.length * 64, MAX_MESSAGES_PER_BATCH)
  const acked = ackedBatchIndexesOf(id.ack_set, size)
  if (ackType === 'Individual') return acked.map((batchIndex) => ({ ...entry, batchIndex }))
  let prefix = 0
  while (prefix < acked.length && acked[prefix] === prefix) prefix++
  if (prefix > 0) return [{ ...entry, batchIndex: prefix - 1 }]
  return entry.index > 1 ? [{ ...entry, index: entry.index - 1, batchIndex: -1 }] : []
}

/** The ack_set a MESSAGE carries for a partly acknowledged batch (absent when nothing is acknowledged). */
export function ackSetFor (entry: DeliveredEntry): bigint[] | undefined {
  const acked = entry.ackedBatchIndexes ?? []
  return acked.length === 0 ? undefined : ackSetOf(entry.batch.messageCount, acked)
}

/** The batch envelope a SEND becomes: the checksummed metadata and payload as the body, untouched. */
export function sendEnvelope (send: CommandSend, payload: FramePayload): BatchEnvelope {
  return batchEnvelopeFromPulsarSend(send, payload.metadataAndPayload)
}
