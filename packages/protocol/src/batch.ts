// The producer batch: many messages (key, ordering key, properties, payload, event time,
// sequence id) sent and stored as one log entry, in Pulsar's own encoding so that Pulsar
// consumers get stored entries verbatim and Blazar clients read Pulsar-produced ones. The body
// is `[metadataSize][MessageMetadata][payload]` exactly as a Pulsar client sends it after the
// checksum; the payload is the (maybe compressed) sequence of
// `[4-byte size][SingleMessageMetadata][bytes]` when `num_messages_in_batch` is set, or one
// message's bytes otherwise. The envelope (producer, sequence range, count, key, compression)
// is derived from the body's metadata and kept readable beside it, so the broker can dedup,
// count and dispatch a batch without parsing or decompressing it; only clients decode payloads.
import {
  PulsarWireError, decodeMessage, encodeMessage, encodeMetadataAndPayload, splitMetadataAndPayload,
  type CommandSend, type KeyValue, type MessageMetadata, type MessageMetadataInit, type SingleMessageMetadata,
  type SingleMessageMetadataInit
} from '@blazar/pulsar-wire/messages'
import { COMPRESSION_TYPES, type CompressionCodecs, type CompressionType } from './compression.ts'
import { LimitExceededError, MessageTooLargeError } from './errors.ts'
import {
  DEFAULT_MAX_MESSAGE_SIZE, MAX_KEY_LENGTH, MAX_MESSAGE_SIZE_CEILING, MAX_MESSAGES_PER_BATCH, MAX_NAME_LENGTH,
  MAX_PROPERTIES_PER_MESSAGE, MAX_PROPERTY_LENGTH
} from './limits.ts'
import { MalformedMessageError, array, boolean, bytes, int, literal, object, optional, string, stringMap, type Infer } from './schema.ts'

const sequenceId = int({ min: 0, max: Number.MAX_SAFE_INTEGER })
const millis = int({ min: 0, max: Number.MAX_SAFE_INTEGER })

/**
 * The last sequence id of the producer's batch sent just before this one and not yet
 * acknowledged when this one was sent: the partition stores this batch only if it already
 * holds that sequence id (else OUT_OF_ORDER_SEQUENCE), so pipelined batches are never stored
 * ahead of an earlier one that was refused. Absent when nothing earlier was pending.
 */
export const previousSequenceIdSchema = optional(sequenceId)

export const producerMessageSchema = object({
  key: optional(string({ max: MAX_KEY_LENGTH })),
  /** Pulsar `partition_key_b64_encoded`: `key` is the base64 form of a binary key. */
  base64EncodedKey: optional(boolean),
  /** Pulsar `ordering_key`: overrides `key` for Key_Shared ordering in Pulsar consumers. */
  orderingKey: optional(bytes({ max: MAX_KEY_LENGTH })),
  properties: stringMap({ maxEntries: MAX_PROPERTIES_PER_MESSAGE, maxKey: MAX_PROPERTY_LENGTH, maxValue: MAX_PROPERTY_LENGTH }),
  payload: bytes({ max: MAX_MESSAGE_SIZE_CEILING }),
  /** Pulsar `null_value`: the message has no value (a tombstone), `payload` is empty. */
  nullValue: optional(boolean),
  /** Application time in ms since the epoch, set by the producer (Pulsar `eventTime`), 0 when unset. */
  eventTime: millis,
  /** Pulsar `deliver_at_time` (ms): a batch-wide setting, so every message of a batch must agree. */
  deliverAtTime: optional(millis),
  sequenceId
})
export type ProducerMessage = Infer<typeof producerMessageSchema>

/** A message decoded from a batch: what was produced, plus the producer's publish time. */
export interface DecodedMessage extends ProducerMessage {
  /** MessageMetadata.publish_time: the producer's clock when it sent the batch (ms). */
  publishTime: number
}

export const batchEnvelopeSchema = object({
  producerName: string({ min: 1, max: MAX_NAME_LENGTH }),
  firstSequenceId: sequenceId,
  lastSequenceId: sequenceId,
  messageCount: int({ min: 1, max: MAX_MESSAGES_PER_BATCH }),
  /** The batch metadata's partition key (set by Blazar when every message shares it); Key_Shared routes the batch by it, as Pulsar does. */
  key: optional(string({ max: MAX_KEY_LENGTH })),
  compression: literal(...COMPRESSION_TYPES),
  uncompressedSize: int({ min: 0, max: MAX_MESSAGE_SIZE_CEILING }),
  /** The metadata's `deliver_at_time` (delayed delivery, ms since the epoch): Shared and Key_Shared dispatch the batch no earlier. */
  deliverAtTime: optional(millis),
  /** `[metadataSize][MessageMetadata][payload]`, Pulsar's encoding. */
  body: bytes({ max: MAX_MESSAGE_SIZE_CEILING })
})
/** A batch as it travels and as it is stored: readable envelope, Pulsar-encoded body. */
export type BatchEnvelope = Infer<typeof batchEnvelopeSchema>

const messagesSchema = array(producerMessageSchema, { max: MAX_MESSAGES_PER_BATCH })

export interface EncodeBatchOptions {
  producerName: string
  compression?: CompressionType
  /** The namespace's maxMessageSize (default 5 MiB): the limit for the whole batch, before and after compression. */
  maxMessageSize?: number
  /** MessageMetadata.publish_time: the producer's clock (ms); 0 when the host has none to give. */
  publishTime?: number
}

/** Builds a batch envelope; throws MessageTooLarge, LimitExceeded or MalformedMessage. */
export function encodeBatch (messages: readonly ProducerMessage[], options: EncodeBatchOptions, codecs: CompressionCodecs): BatchEnvelope {
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
  if (messages.length === 0) throw new LimitExceededError({ limit: 'messages per batch (at least 1)', value: 0, max: MAX_MESSAGES_PER_BATCH })
  if (messages.length > MAX_MESSAGES_PER_BATCH) {
    throw new LimitExceededError({ limit: 'messages per batch', value: messages.length, max: MAX_MESSAGES_PER_BATCH })
  }
  const parsed = messagesSchema.parse(messages, '$.messages')
  for (let i = 1; i < parsed.length; i++) {
    if (parsed[i].sequenceId <= parsed[i - 1].sequenceId) {
      throw new MalformedMessageError({ path: `messages[${i}].sequenceId`, reason: 'sequence ids must increase within a batch' })
    }
    if (parsed[i].deliverAtTime !== parsed[0].deliverAtTime) {
      throw new MalformedMessageError({ path: `messages[${i}].deliverAtTime`, reason: 'every message of a batch must share deliverAtTime' })
    }
  }
  const records = parsed.map(singleMessageRecord)
  const plain = concat(records)
  if (plain.length > maxMessageSize) throw new MessageTooLargeError({ size: plain.length, maxMessageSize })
  const compression = options.compression ?? 'NONE'
  const first = parsed[0]
  const last = parsed[parsed.length - 1]
  const metadata: MessageMetadataInit = {
    producer_name: options.producerName,
    sequence_id: first.sequenceId,
    highest_sequence_id: last.sequenceId,
    publish_time: options.publishTime ?? 0,
    num_messages_in_batch: parsed.length,
    compression,
    uncompressed_size: plain.length
  }
  if (first.key !== undefined && parsed.every((m) => m.key === first.key && m.base64EncodedKey === first.base64EncodedKey)) {
    metadata.partition_key = first.key
    if (first.base64EncodedKey === true) metadata.partition_key_b64_encoded = true
  }
  const orderingKey = first.orderingKey
  if (orderingKey !== undefined && parsed.every((m) => m.orderingKey !== undefined && equalBytes(m.orderingKey, orderingKey))) {
    metadata.ordering_key = orderingKey
  }
  if (first.deliverAtTime !== undefined) metadata.deliver_at_time = first.deliverAtTime
  const body = encodeMetadataAndPayload(metadata, codecs.get(compression).compress(plain))
  return batchEnvelopeFromBody(body, maxMessageSize)
}

function singleMessageRecord (message: ProducerMessage): Uint8Array {
  const single: SingleMessageMetadataInit = {
    properties: propertiesToWire(message.properties),
    payload_size: message.payload.length,
    sequence_id: message.sequenceId
  }
  if (message.key !== undefined) single.partition_key = message.key
  if (message.base64EncodedKey === true) single.partition_key_b64_encoded = true
  if (message.orderingKey !== undefined) single.ordering_key = message.orderingKey
  if (message.eventTime > 0) single.event_time = message.eventTime
  if (message.nullValue === true) single.null_value = true
  const metadata = encodeMessage('SingleMessageMetadata', single)
  const record = new Uint8Array(4 + metadata.length + message.payload.length)
  new DataView(record.buffer).setUint32(0, metadata.length)
  record.set(metadata, 4)
  record.set(message.payload, 4 + metadata.length)
  return record
}

const propertiesToWire = (properties: Record<string, string>): KeyValue[] =>
  Object.entries(properties).map(([key, value]) => ({ key, value }))

function propertiesFromWire (properties: readonly KeyValue[], path: string): Record<string, string> {
  if (properties.length > MAX_PROPERTIES_PER_MESSAGE) {
    throw new MalformedMessageError({ path, reason: `more than ${MAX_PROPERTIES_PER_MESSAGE} properties` })
  }
  const out: Record<string, string> = {}
  for (const { key, value } of properties) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  return out
}

function readMetadata (body: Uint8Array): { metadata: MessageMetadata, payload: Uint8Array } {
  try {
    return splitMetadataAndPayload(body)
  } catch (error) {
    if (error instanceof PulsarWireError) throw new MalformedMessageError({ path: 'body', reason: error.message })
    throw error
  }
}

function safe (value: bigint, path: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedMessageError({ path, reason: `${value} is outside [0, 2^53)` })
  return Number(value)
}

/**
 * The envelope of a Pulsar-encoded body, from its MessageMetadata alone (the payload is neither
 * parsed nor decompressed). The last sequence id is `highest_sequence_id` when the sender set
 * one above `sequence_id` (Java clients do), else `sequence_id`, as Pulsar's deduplication reads it.
 */
export function batchEnvelopeFromBody (body: Uint8Array, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE): BatchEnvelope {
  if (body.length > maxMessageSize) throw new MessageTooLargeError({ size: body.length, maxMessageSize })
  const { metadata, payload } = readMetadata(body)
  const messageCount = metadata.num_messages_in_batch ?? 1
  if (messageCount < 1 || messageCount > MAX_MESSAGES_PER_BATCH) {
    throw new MalformedMessageError({ path: 'body.num_messages_in_batch', reason: `${messageCount} outside [1, ${MAX_MESSAGES_PER_BATCH}]` })
  }
  const firstSequenceId = safe(metadata.sequence_id, 'body.sequence_id')
  const highest = safe(metadata.highest_sequence_id, 'body.highest_sequence_id')
  const uncompressedSize = metadata.compression === 'NONE' ? payload.length : metadata.uncompressed_size
  if (uncompressedSize > maxMessageSize) throw new MessageTooLargeError({ size: uncompressedSize, maxMessageSize })
  return batchEnvelopeSchema.parse({
    producerName: metadata.producer_name,
    firstSequenceId,
    lastSequenceId: Math.max(firstSequenceId, highest),
    messageCount,
    ...(metadata.partition_key === undefined ? {} : { key: metadata.partition_key }),
    compression: metadata.compression,
    uncompressedSize,
    ...(metadata.deliver_at_time === undefined ? {} : { deliverAtTime: safe(BigInt(metadata.deliver_at_time), 'body.deliver_at_time') }),
    body
  }, '$.batch')
}

/**
 * The envelope of a batch a Pulsar client sent: `metadataAndPayload` is the checksummed section
 * of its SEND frame, stored as is. The SEND's count and first sequence id must match the metadata.
 */
export function batchEnvelopeFromPulsarSend (
  send: Pick<CommandSend, 'sequence_id' | 'num_messages'>, metadataAndPayload: Uint8Array, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE
): BatchEnvelope {
  const envelope = batchEnvelopeFromBody(metadataAndPayload, maxMessageSize)
  if (send.num_messages !== envelope.messageCount) {
    throw new MalformedMessageError({ path: 'send.num_messages', reason: `${send.num_messages}, the metadata says ${envelope.messageCount}` })
  }
  if (send.sequence_id !== BigInt(envelope.firstSequenceId)) {
    throw new MalformedMessageError({ path: 'send.sequence_id', reason: `${send.sequence_id}, the metadata says ${envelope.firstSequenceId}` })
  }
  return envelope
}

/** Validates an envelope from the wire: its fields must be those of its body, within the namespace limit. */
export function checkBatchEnvelope (value: unknown, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE): BatchEnvelope {
  const envelope = batchEnvelopeSchema.parse(value, '$.batch')
  if (envelope.uncompressedSize > maxMessageSize) throw new MessageTooLargeError({ size: envelope.uncompressedSize, maxMessageSize })
  assertEnvelopeOfBody(envelope, maxMessageSize)
  return envelope
}

const ENVELOPE_FIELDS = ['producerName', 'firstSequenceId', 'lastSequenceId', 'messageCount', 'key', 'compression', 'uncompressedSize', 'deliverAtTime'] as const

/** Throws MalformedMessage unless every envelope field is what the body's metadata says. */
function assertEnvelopeOfBody (envelope: BatchEnvelope, maxMessageSize: number): void {
  const derived = batchEnvelopeFromBody(envelope.body, maxMessageSize)
  for (const field of ENVELOPE_FIELDS) {
    if (derived[field] !== envelope[field]) {
      throw new MalformedMessageError({ path: `$.batch.${field}`, reason: `${String(envelope[field])}, the body says ${String(derived[field])}` })
    }
  }
}

/** Decodes the messages of a batch, Blazar- or Pulsar-produced; throws MalformedMessage or UnsupportedCompression. */
export function decodeBatch (envelope: BatchEnvelope, codecs: CompressionCodecs): DecodedMessage[] {
  assertEnvelopeOfBody(envelope, MAX_MESSAGE_SIZE_CEILING)
  const { metadata, payload } = readMetadata(envelope.body)
  if (metadata.encryption_keys.length > 0) throw new MalformedMessageError({ path: 'body', reason: 'encrypted batches cannot be read by this client' })
  if (metadata.num_chunks_from_msg !== undefined && metadata.num_chunks_from_msg > 1) {
    throw new MalformedMessageError({ path: 'body', reason: 'chunked messages cannot be read by this client' })
  }
  const plain = codecs.decompress(metadata.compression, payload, metadata.compression === 'NONE' ? payload.length : metadata.uncompressed_size)
  const publishTime = safe(metadata.publish_time, 'body.publish_time')
  const messages = metadata.num_messages_in_batch === undefined
    ? [singleMessage(metadata, plain)]
    : batchMessages(metadata, plain)
  if (messages.length !== envelope.messageCount) {
    throw new MalformedMessageError({ path: 'body', reason: `${messages.length} messages, envelope says ${envelope.messageCount}` })
  }
  // Java clients (and Blazar's) put the batch's first sequence id in its metadata, the C++ client
  // (and so Python's and Go's cgo one) its last: either end must match.
  if (messages[0].sequenceId !== envelope.firstSequenceId && messages[messages.length - 1].sequenceId !== envelope.lastSequenceId) {
    throw new MalformedMessageError({ path: 'body', reason: 'sequence ids do not match the envelope' })
  }
  return messagesSchema.parse(messages, 'body').map((message) => ({ ...message, publishTime }))
}

/** A non-batched Pulsar message: everything is in the MessageMetadata. */
function singleMessage (metadata: MessageMetadata, payload: Uint8Array): ProducerMessage {
  const message: ProducerMessage = {
    properties: propertiesFromWire(metadata.properties, 'body.properties'),
    payload,
    eventTime: safe(metadata.event_time, 'body.event_time'),
    sequenceId: safe(metadata.sequence_id, 'body.sequence_id')
  }
  if (metadata.partition_key !== undefined) message.key = metadata.partition_key
  if (metadata.partition_key_b64_encoded) message.base64EncodedKey = true
  if (metadata.ordering_key !== undefined) message.orderingKey = metadata.ordering_key
  if (metadata.null_value) message.nullValue = true
  if (metadata.deliver_at_time !== undefined) message.deliverAtTime = safe(BigInt(metadata.deliver_at_time), 'body.deliver_at_time')
  return message
}

/** The `[4-byte size][SingleMessageMetadata][bytes]` records of a batch payload. */
function batchMessages (metadata: MessageMetadata, plain: Uint8Array): ProducerMessage[] {
  const count = metadata.num_messages_in_batch ?? 1
  const firstSequenceId = safe(metadata.sequence_id, 'body.sequence_id')
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength)
  const messages: ProducerMessage[] = []
  let offset = 0
  for (let i = 0; i < count; i++) {
    const path = `body.messages[${i}]`
    if (plain.length - offset < 4) throw new MalformedMessageError({ path, reason: 'batch payload ends before its metadata size' })
    const size = view.getUint32(offset)
    offset += 4
    if (size > plain.length - offset) throw new MalformedMessageError({ path, reason: `metadata size ${size} past the payload end` })
    let single: SingleMessageMetadata
    try {
      single = decodeMessage<SingleMessageMetadata>('SingleMessageMetadata', plain.subarray(offset, offset + size))
    } catch (error) {
      if (error instanceof PulsarWireError) throw new MalformedMessageError({ path, reason: error.message })
      throw error
    }
    offset += size
    if (single.payload_size < 0 || single.payload_size > plain.length - offset) {
      throw new MalformedMessageError({ path, reason: `payload size ${single.payload_size} past the payload end` })
    }
    const message: ProducerMessage = {
      properties: propertiesFromWire(single.properties, `${path}.properties`),
      payload: plain.slice(offset, offset + single.payload_size),
      eventTime: safe(single.event_time, `${path}.event_time`),
      sequenceId: single.sequence_id === undefined ? firstSequenceId + i : safe(single.sequence_id, `${path}.sequence_id`)
    }
    offset += single.payload_size
    if (single.partition_key !== undefined) message.key = single.partition_key
    if (single.partition_key_b64_encoded) message.base64EncodedKey = true
    if (single.ordering_key !== undefined) message.orderingKey = single.ordering_key
    if (single.null_value) message.nullValue = true
    if (metadata.deliver_at_time !== undefined) message.deliverAtTime = safe(BigInt(metadata.deliver_at_time), 'body.deliver_at_time')
    messages.push(message)
  }
  if (offset !== plain.length) throw new MalformedMessageError({ path: 'body', reason: `${plain.length - offset} bytes after the last message` })
  return messages
}

function concat (parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
