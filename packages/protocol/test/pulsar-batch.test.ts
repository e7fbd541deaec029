// The stored body is Pulsar's own encoding: Blazar bodies parse the way a Pulsar consumer parses
// them, and bodies Pulsar clients send (batched or not, golden bytes from a real broker) decode
// through decodeBatch and become envelopes with batchEnvelopeFromPulsarSend.
import t from 'tap'
import fc from 'fast-check'
import { decodeMessage, encodeMessage, encodeMetadataAndPayload, splitMetadataAndPayload, type SingleMessageMetadata } from '@blazar/pulsar-wire'
import {
  CompressionCodecs, MalformedMessageError, MessageTooLargeError, batchEnvelopeFromBody, batchEnvelopeFromPulsarSend,
  checkBatchEnvelope, decodeBatch, encodeBatch
} from '../src/index.ts'

const codecs = new CompressionCodecs()

t.test('a Blazar batch body is [metadataSize][MessageMetadata][records] as Pulsar clients send it', async (t) => {
  const envelope = encodeBatch([
    { key: 'k', properties: { a: '1' }, payload: new TextEncoder().encode('one'), eventTime: 5, sequenceId: 7 },
    { key: 'k', properties: {}, payload: new TextEncoder().encode('two'), eventTime: 0, sequenceId: 8 }
  ], { producerName: 'prod', publishTime: 1700 }, codecs)
  const { metadata, payload } = splitMetadataAndPayload(envelope.body)
  t.match(metadata, { producer_name: 'prod', sequence_id: 7n, highest_sequence_id: 8n, publish_time: 1700n, num_messages_in_batch: 2, partition_key: 'k', compression: 'NONE' })
  t.equal(metadata.uncompressed_size, payload.length)
  const size = new DataView(payload.buffer, payload.byteOffset).getUint32(0)
  const first = decodeMessage<SingleMessageMetadata>('SingleMessageMetadata', payload.subarray(4, 4 + size))
  t.match(first, { partition_key: 'k', payload_size: 3, event_time: 5n, sequence_id: 7n, properties: [{ key: 'a', value: '1' }] })
  t.same(envelope, batchEnvelopeFromBody(envelope.body), 'the envelope is a function of the body')
})

// pulsar-flex test/config.js: the metadata and payload of a MESSAGE from Pulsar 2.8.0 (after the checksum).
const golden = Uint8Array.from([
  0, 0, 0, 33, 10, 14, 115, 116, 97, 110, 100, 97, 108, 111, 110, 101, 45, 48, 45, 49, 16, 0, 24, 166, 215, 152, 137,
  176, 47, 88, 1, 130, 1, 0, 192, 1, 0, 0, 0, 0, 4, 24, 5, 64, 0, 104, 101, 108, 108, 111
])

t.test('a batch produced by a Pulsar 2.8.0 client decodes', async (t) => {
  const envelope = batchEnvelopeFromPulsarSend({ sequence_id: 0n, num_messages: 1 }, golden)
  t.match(envelope, { producerName: 'standalone-0-1', firstSequenceId: 0, lastSequenceId: 0, messageCount: 1, compression: 'NONE' })
  const [message] = decodeBatch(envelope, codecs)
  t.equal(new TextDecoder().decode(message.payload), 'hello')
  t.equal(message.sequenceId, 0)
  t.equal(message.publishTime, 1627811883942, '2021-08-01, when the frame was captured')
  t.equal(message.key, undefined)
})

t.test('a batch from the C++ client (Python, Go cgo), whose metadata names its last sequence id, decodes', async (t) => {
  const records = [0, 1, 2].map((i) => {
    const single = encodeMessage('SingleMessageMetadata', { partition_key: `k${i}`, payload_size: 2, sequence_id: i })
    const record = new Uint8Array(4 + single.length + 2)
    new DataView(record.buffer).setUint32(0, single.length)
    record.set(single, 4)
    record.set([48 + i, 48 + i], 4 + single.length)
    return record
  })
  const payload = new Uint8Array(records.reduce((n, r) => n + r.length, 0))
  records.reduce((offset, r) => { payload.set(r, offset); return offset + r.length }, 0)
  // What pulsar-client 3.5 (Python) sends for a batch of sequence ids 0..2: sequence_id 2, no highest_sequence_id.
  const body = encodeMetadataAndPayload({ producer_name: 'cpp', sequence_id: 2, publish_time: 1, num_messages_in_batch: 3 }, payload)
  const envelope = batchEnvelopeFromPulsarSend({ sequence_id: 2n, num_messages: 3 }, body)
  t.match(envelope, { firstSequenceId: 2, lastSequenceId: 2, messageCount: 3 })
  t.same(decodeBatch(envelope, codecs).map((m) => [m.key, m.sequenceId]), [['k0', 0], ['k1', 1], ['k2', 2]])
})

t.test('a non-batched Pulsar message carries everything in its MessageMetadata', async (t) => {
  const body = encodeMetadataAndPayload({
    producer_name: 'java-1', sequence_id: 42, publish_time: 99, partition_key: 'user-1', ordering_key: Uint8Array.of(1, 2),
    properties: [{ key: 'x', value: 'y' }], event_time: 12, deliver_at_time: 5000
  }, new TextEncoder().encode('payload'))
  const envelope = batchEnvelopeFromPulsarSend({ sequence_id: 42n, num_messages: 1 }, body)
  t.match(envelope, { firstSequenceId: 42, lastSequenceId: 42, messageCount: 1, key: 'user-1' })
  t.same(decodeBatch(envelope, codecs), [{
    properties: { x: 'y' }, payload: new TextEncoder().encode('payload'), eventTime: 12, sequenceId: 42, key: 'user-1',
    orderingKey: Uint8Array.of(1, 2), deliverAtTime: 5000, publishTime: 99
  }])
})

t.test('a Pulsar SEND is validated against its metadata and the limits', async (t) => {
  const body = encodeBatch([{ properties: {}, payload: new Uint8Array(10), eventTime: 0, sequenceId: 3 }], { producerName: 'p' }, codecs).body
  t.throws(() => batchEnvelopeFromPulsarSend({ sequence_id: 3n, num_messages: 2 }, body), MalformedMessageError)
  t.throws(() => batchEnvelopeFromPulsarSend({ sequence_id: 4n, num_messages: 1 }, body), MalformedMessageError)
  t.throws(() => batchEnvelopeFromPulsarSend({ sequence_id: 3n, num_messages: 1 }, body, 20), MessageTooLargeError)
  const huge = encodeMetadataAndPayload({ producer_name: 'p', sequence_id: 2n ** 60n, publish_time: 0 }, new Uint8Array(1))
  t.throws(() => batchEnvelopeFromPulsarSend({ sequence_id: 2n ** 60n, num_messages: 1 }, huge), MalformedMessageError, 'sequence ids beyond 2^53')
  const noBatch = encodeMetadataAndPayload({ producer_name: 'p', sequence_id: 1, publish_time: 0, num_messages_in_batch: 0 }, new Uint8Array(1))
  t.throws(() => batchEnvelopeFromBody(noBatch), MalformedMessageError)
  const lz4 = encodeMetadataAndPayload({ producer_name: 'p', sequence_id: 1, publish_time: 0, compression: 'LZ4', uncompressed_size: 6_000_000 }, new Uint8Array(1))
  t.throws(() => batchEnvelopeFromBody(lz4), MessageTooLargeError, 'declared uncompressed size over the limit')
})

t.test('an envelope that disagrees with its body is refused', async (t) => {
  const envelope = encodeBatch([{ key: 'k', properties: {}, payload: new Uint8Array(1), eventTime: 0, sequenceId: 1 }], { producerName: 'p' }, codecs)
  for (const lie of [{ producerName: 'q' }, { firstSequenceId: 0 }, { lastSequenceId: 2 }, { messageCount: 2 }, { key: 'j' }, { uncompressedSize: 9 }]) {
    t.throws(() => checkBatchEnvelope({ ...envelope, ...lie }), MalformedMessageError, JSON.stringify(lie))
    t.throws(() => decodeBatch({ ...envelope, ...lie }, codecs), MalformedMessageError, JSON.stringify(lie))
  }
})

t.test('corrupt batch payloads are MalformedMessage, never a crash', async () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 5 }), (payload, count) => {
    const body = encodeMetadataAndPayload({ producer_name: 'p', sequence_id: 1, publish_time: 0, num_messages_in_batch: count }, payload)
    try {
      decodeBatch(batchEnvelopeFromBody(body), codecs)
      return true
    } catch (error) {
      return error instanceof MalformedMessageError
    }
  }), { numRuns: 500 })
})
