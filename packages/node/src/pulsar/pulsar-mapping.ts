// Where Pulsar's wire values meet Blazar's: message ids (MessageIdData: ledger = LEDGER_ID,
// entry = the partition's Raft index, so ids compare in log order and survive leader changes),
// cursor positions a reader or seek names, the batch envelope a SEND becomes, and the stored
// body a MESSAGE carries (`[metadataSize][MessageMetadata][payload]`, stored as the producer
// sent it).
import { InvalidArgumentError, batchEnvelopeFromPulsarSend, type BatchEnvelope, type CursorPosition, type DeliveredEntry, type MessageIdData as BlazarMessageId } from '@blazar/protocol'
import type { CommandSend, FramePayload, MessageIdData, MessageIdDataInit } from '@blazar/pulsar-wire'

/** The ledger id of every Blazar message id (a partition is one log, so one "ledger"). */
export const LEDGER_ID = 0n
/** Pulsar's MessageId.earliest is (-1, -1): uint64 on the wire, so 2^64 - 1. */
export const UINT64_MINUS_ONE = 2n ** 64n - 1n
/** Pulsar's MessageId.latest is (Long.MAX_VALUE, Long.MAX_VALUE). */
const INT64_MAX = 2n ** 63n - 1n

export function pulsarMessageIdOf (id: BlazarMessageId): MessageIdDataInit {
  return { ledgerId: LEDGER_ID, entryId: BigInt(id.index), partition: id.partition }
}

/** The cursor position a MessageIdData names (earliest, latest, or at a message); throws InvalidArgumentError for ids Blazar never gave out. */
export function fromPulsarMessageId (id: MessageIdData): CursorPosition {
  if (id.ledgerId === UINT64_MINUS_ONE || id.entryId === UINT64_MINUS_ONE) return { at: 'earliest' }
  if (id.ledgerId >= INT64_MAX || id.entryId >= INT64_MAX) return { at: 'latest' }
  if (id.ledgerId !== LEDGER_ID || id.entryId > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError({ argument: 'message_id', reason: `${id.ledgerId}:${id.entryId} is not a Blazar message id (ledger ${LEDGER_ID})` })
  }
  return { at: 'message', index: Number(id.entryId), batchIndex: Math.max(-1, Math.min(id.batch_index, 65_535)) }
}

/** The batch envelope a SEND becomes: the checksummed metadata and payload as the body, untouched. */
export function sendEnvelope (send: CommandSend, payload: FramePayload): BatchEnvelope {
  return batchEnvelopeFromPulsarSend(send, payload.metadataAndPayload)
}

/** The body of the MESSAGE frame for a delivered entry. */
export function storedFrameBody (entry: DeliveredEntry): Uint8Array {
  return entry.batch.body
}
