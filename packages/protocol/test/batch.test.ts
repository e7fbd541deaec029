import t from 'tap'
import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import {
  CompressionCodecs, DEFAULT_MAX_MESSAGE_SIZE, LimitExceededError, MalformedMessageError, MessageTooLargeError,
  UnsupportedCompressionError, checkBatchEnvelope, decodeBatch, encodeBatch, pack, type CompressionCodec,
  type ProducerMessage
} from '../src/index.ts'

// A host-provided codec, the way the client and node plug node:zlib in.
const zlib: CompressionCodec = {
  type: 'ZLIB',
  compress: (data) => deflateRawSync(data),
  decompress: (data, size) => inflateRawSync(data, { maxOutputLength: Math.max(size, 1) })
}
const codecs = new CompressionCodecs([zlib])

const messagesArb = fc.array(fc.record({
  key: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  properties: fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
  payload: fc.uint8Array({ maxLength: 200 }),
  eventTime: fc.nat(),
  orderingKey: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }),
  base64EncodedKey: fc.boolean(),
  nullValue: fc.boolean()
}), { minLength: 1, maxLength: 30 }).chain((messages) => fc.option(fc.nat(), { nil: undefined }).map((deliverAtTime) => messages.map((m, i): ProducerMessage => {
  const message: ProducerMessage = { properties: m.properties, payload: m.payload, eventTime: m.eventTime, sequenceId: 100 + i }
  if (m.key !== undefined) message.key = m.key
  if (m.key !== undefined && m.base64EncodedKey) message.base64EncodedKey = true
  if (m.orderingKey !== undefined) message.orderingKey = m.orderingKey
  if (m.nullValue) message.nullValue = true
  if (deliverAtTime !== undefined) message.deliverAtTime = deliverAtTime
  return message
})))

function normalize (messages: ProducerMessage[]): unknown {
  return messages.map((m) => {
    const { publishTime: _, ...produced } = m as ProducerMessage & { publishTime?: number }
    return { ...produced, properties: { ...m.properties }, payload: [...m.payload], ...(m.orderingKey === undefined ? {} : { orderingKey: [...m.orderingKey] }) }
  })
}

t.test('encode/decode round-trips every field, with and without compression', async () => {
  fc.assert(fc.property(messagesArb, fc.constantFrom('NONE' as const, 'ZLIB' as const), fc.nat(), (messages, compression, publishTime) => {
    const envelope = checkBatchEnvelope(structuredClone(encodeBatch(messages, { producerName: 'p1', compression, publishTime }, codecs)))
    const decoded = decodeBatch(envelope, codecs)
    return envelope.messageCount === messages.length &&
      envelope.firstSequenceId === messages[0].sequenceId &&
      envelope.lastSequenceId === messages.at(-1)!.sequenceId &&
      decoded.every((m) => m.publishTime === publishTime) &&
      isDeepStrictEqual(normalize(decoded), normalize(messages))
  }))
})

t.test('size limits are typed errors', async (t) => {
  const big: ProducerMessage = { properties: {}, payload: new Uint8Array(DEFAULT_MAX_MESSAGE_SIZE), eventTime: 0, sequenceId: 0 }
  t.throws(() => encodeBatch([big], { producerName: 'p' }, codecs), MessageTooLargeError)
  const small: ProducerMessage = { properties: {}, payload: new Uint8Array(2000), eventTime: 0, sequenceId: 0 }
  t.throws(() => encodeBatch([small], { producerName: 'p', maxMessageSize: 1000 }, codecs), MessageTooLargeError)
  t.throws(() => encodeBatch([], { producerName: 'p' }, codecs), LimitExceededError)
  t.throws(() => encodeBatch([small, small], { producerName: 'p' }, codecs), MalformedMessageError, 'sequence ids must increase')
  const envelope = encodeBatch([small], { producerName: 'p' }, codecs)
  t.throws(() => checkBatchEnvelope(envelope, 1000), MessageTooLargeError)
})

t.test('a codec the host did not register is a typed error', async (t) => {
  const envelope = encodeBatch([{ properties: {}, payload: new Uint8Array(3), eventTime: 0, sequenceId: 1 }], { producerName: 'p', compression: 'ZLIB' }, codecs)
  t.throws(() => decodeBatch(envelope, new CompressionCodecs()), UnsupportedCompressionError)
  t.throws(() => encodeBatch([], { producerName: 'p', compression: 'LZ4' }, codecs))
})

t.test('lying envelopes and corrupt bodies are MalformedMessage, never a crash', async (t) => {
  const envelope = encodeBatch([{ properties: {}, payload: new Uint8Array(3), eventTime: 0, sequenceId: 1 }], { producerName: 'p', compression: 'ZLIB' }, codecs)
  t.throws(() => decodeBatch({ ...envelope, uncompressedSize: envelope.uncompressedSize + 1 }, codecs), MalformedMessageError)
  t.throws(() => decodeBatch({ ...envelope, messageCount: 2 }, codecs), MalformedMessageError)
  t.throws(() => decodeBatch({ ...envelope, lastSequenceId: 9 }, codecs), MalformedMessageError)
  const notMessages = pack([{ nope: 1 }])
  t.throws(() => decodeBatch({ ...envelope, compression: 'NONE', body: notMessages, uncompressedSize: notMessages.length }, codecs), MalformedMessageError)
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.constantFrom('NONE' as const, 'ZLIB' as const), (body, compression) => {
    try {
      decodeBatch({ ...envelope, compression, body, uncompressedSize: body.length }, codecs)
      return true
    } catch (error) {
      return error instanceof MalformedMessageError
    }
  }))
})

t.test('a batch whose messages share one key carries it in the envelope (key-based batching)', async (t) => {
  const message = (key: string | undefined, sequenceId: number): ProducerMessage => ({ ...(key === undefined ? {} : { key }), properties: {}, payload: new Uint8Array(1), eventTime: 0, sequenceId })
  t.equal(encodeBatch([message('k', 1), message('k', 2)], { producerName: 'p' }, codecs).key, 'k')
  t.equal(encodeBatch([message('k', 1), message('j', 2)], { producerName: 'p' }, codecs).key, undefined)
  t.equal(encodeBatch([message('k', 1), message(undefined, 2)], { producerName: 'p' }, codecs).key, undefined)
  t.equal(checkBatchEnvelope(encodeBatch([message('k', 1)], { producerName: 'p' }, codecs)).key, 'k')
})
