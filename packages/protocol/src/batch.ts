// The producer batch: many messages (key, properties, payload, eventTime, sequenceId) sent and
// stored as one log entry. The envelope (producer, sequence range, count, compression) stays
// readable without touching the body, so the broker can dedup, count and dispatch a batch
// without decompressing it; only clients decode the body.
import { pack, unpack } from './codec.ts'
import { COMPRESSION_TYPES, type CompressionCodecs, type CompressionType } from './compression.ts'
import { LimitExceededError, MessageTooLargeError } from './errors.ts'
import {
  DEFAULT_MAX_MESSAGE_SIZE, MAX_KEY_LENGTH, MAX_MESSAGE_SIZE_CEILING, MAX_MESSAGES_PER_BATCH, MAX_NAME_LENGTH,
  MAX_PROPERTIES_PER_MESSAGE, MAX_PROPERTY_LENGTH
} from './limits.ts'
import { MalformedMessageError, array, bytes, int, literal, object, optional, string, stringMap, type Infer } from './schema.ts'

const sequenceId = int({ min: 0, max: Number.MAX_SAFE_INTEGER })

/**
 * The last sequence id of the producer's batch sent just before this one and not yet
 * acknowledged when this one was sent: the partition stores this batch only if it already
 * holds that sequence id (else OUT_OF_ORDER_SEQUENCE), so pipelined batches are never stored
 * ahead of an earlier one that was refused. Absent when nothing earlier was pending.
 */
export const previousSequenceIdSchema = optional(sequenceId)

export const producerMessageSchema = object({
  key: optional(string({ max: MAX_KEY_LENGTH })),
  properties: stringMap({ maxEntries: MAX_PROPERTIES_PER_MESSAGE, maxKey: MAX_PROPERTY_LENGTH, maxValue: MAX_PROPERTY_LENGTH }),
  payload: bytes({ max: MAX_MESSAGE_SIZE_CEILING }),
  /** Application time in ms since the epoch, set by the producer (Pulsar `eventTime`), 0 when unset. */
  eventTime: int({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  sequenceId
})
export type ProducerMessage = Infer<typeof producerMessageSchema>

export const batchEnvelopeSchema = object({
  producerName: string({ min: 1, max: MAX_NAME_LENGTH }),
  firstSequenceId: sequenceId,
  lastSequenceId: sequenceId,
  messageCount: int({ min: 1, max: MAX_MESSAGES_PER_BATCH }),
  /** The key every message of the batch carries (key-based batching), absent when keys differ or are missing. */
  key: optional(string({ max: MAX_KEY_LENGTH })),
  compression: literal(...COMPRESSION_TYPES),
  uncompressedSize: int({ min: 0, max: MAX_MESSAGE_SIZE_CEILING }),
  body: bytes({ max: MAX_MESSAGE_SIZE_CEILING })
})
/** A batch as it travels and as it is stored: readable envelope, opaque (maybe compressed) body. */
export type BatchEnvelope = Infer<typeof batchEnvelopeSchema>

const bodySchema = array(producerMessageSchema, { max: MAX_MESSAGES_PER_BATCH })

export interface EncodeBatchOptions {
  producerName: string
  compression?: CompressionType
  /** The namespace's maxMessageSize (default 5 MiB): the limit for the whole batch body. */
  maxMessageSize?: number
}

/** Builds a batch envelope; throws MessageTooLarge or LimitExceeded. */
export function encodeBatch (messages: readonly ProducerMessage[], options: EncodeBatchOptions, codecs: CompressionCodecs): BatchEnvelope {
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
  if (messages.length === 0) throw new LimitExceededError({ limit: 'messages per batch (at least 1)', value: 0, max: MAX_MESSAGES_PER_BATCH })
  if (messages.length > MAX_MESSAGES_PER_BATCH) {
    throw new LimitExceededError({ limit: 'messages per batch', value: messages.length, max: MAX_MESSAGES_PER_BATCH })
  }
  for (let i = 1; i < messages.length; i++) {
    if (messages[i].sequenceId <= messages[i - 1].sequenceId) {
      throw new MalformedMessageError({ path: `messages[${i}].sequenceId`, reason: 'sequence ids must increase within a batch' })
    }
  }
  const plain = pack(bodySchema.parse(messages, '$.messages'))
  if (plain.length > maxMessageSize) throw new MessageTooLargeError({ size: plain.length, maxMessageSize })
  const compression = options.compression ?? 'NONE'
  const body = codecs.get(compression).compress(plain)
  const envelope: BatchEnvelope = {
    producerName: options.producerName,
    firstSequenceId: messages[0].sequenceId,
    lastSequenceId: messages[messages.length - 1].sequenceId,
    messageCount: messages.length,
    compression,
    uncompressedSize: plain.length,
    body
  }
  const key = messages[0].key
  if (key !== undefined && messages.every((m) => m.key === key)) envelope.key = key
  return envelope
}

/** Validates an envelope from the wire against the namespace limit. */
export function checkBatchEnvelope (value: unknown, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE): BatchEnvelope {
  const envelope = batchEnvelopeSchema.parse(value, '$.batch')
  if (envelope.uncompressedSize > maxMessageSize) throw new MessageTooLargeError({ size: envelope.uncompressedSize, maxMessageSize })
  if (envelope.body.length > maxMessageSize) throw new MessageTooLargeError({ size: envelope.body.length, maxMessageSize })
  if (envelope.lastSequenceId < envelope.firstSequenceId) {
    throw new MalformedMessageError({ path: '$.batch.lastSequenceId', reason: 'below firstSequenceId' })
  }
  return envelope
}

/** Decodes the messages of a batch; checks that they match the envelope. */
export function decodeBatch (envelope: BatchEnvelope, codecs: CompressionCodecs): ProducerMessage[] {
  const plain = codecs.decompress(envelope.compression, envelope.body, envelope.uncompressedSize)
  const messages = unpack(plain, bodySchema, MAX_MESSAGE_SIZE_CEILING)
  if (messages.length !== envelope.messageCount) {
    throw new MalformedMessageError({ path: 'body', reason: `${messages.length} messages, envelope says ${envelope.messageCount}` })
  }
  if (messages[0].sequenceId !== envelope.firstSequenceId || messages[messages.length - 1].sequenceId !== envelope.lastSequenceId) {
    throw new MalformedMessageError({ path: 'body', reason: 'sequence ids do not match the envelope' })
  }
  return messages
}
