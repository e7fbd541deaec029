// Frames captured from a real Pulsar 2.8.0 broker (pulsar-flex's test/config.js).
import t from 'tap'
import { FrameDecoder, bodyOf, splitMetadataAndPayload } from '../src/index.ts'

const connectedFrame = Uint8Array.from([
  0, 0, 0, 35, 0, 0, 0, 31, 8, 3, 26, 27, 10, 18, 80, 117, 108, 115, 97, 114, 32, 83, 101, 114,
  118, 101, 114, 50, 46, 56, 46, 48, 16, 17, 24, 128, 128, 192, 2
])
const batchMessageFrame = Uint8Array.from([
  0, 0, 0, 83, 0, 0, 0, 23, 8, 9, 74, 19, 8, 0, 18, 15, 8, 10, 16, 3, 24, 255, 255, 255, 255, 255,
  255, 255, 255, 255, 1, 14, 1, 35, 213, 226, 232, 0, 0, 0, 33, 10, 14, 115, 116, 97, 110, 100,
  97, 108, 111, 110, 101, 45, 48, 45, 49, 16, 0, 24, 166, 215, 152, 137, 176, 47, 88, 1, 130, 1,
  0, 192, 1, 0, 0, 0, 0, 4, 24, 5, 64, 0, 104, 101, 108, 108, 111
])

t.test('CONNECTED from Pulsar 2.8.0', async (t) => {
  const frames = new FrameDecoder().push(connectedFrame)
  t.equal(frames.length, 1)
  const { command, payload } = frames[0]
  t.equal(command.type, 'CONNECTED')
  t.equal(payload, undefined)
  if (command.type !== 'CONNECTED') return
  t.same(command.connected, { server_version: 'Pulsar Server2.8.0', protocol_version: 17, max_message_size: 5 * 1024 * 1024 })
})

t.test('a batched MESSAGE from Pulsar 2.8.0, fed one byte at a time', async (t) => {
  const decoder = new FrameDecoder()
  const frames = []
  for (const byte of batchMessageFrame) frames.push(...decoder.push(Uint8Array.of(byte)))
  decoder.finish()
  t.equal(frames.length, 1)
  const { command, payload } = frames[0]
  if (command.type !== 'MESSAGE' || payload === undefined) return t.fail(`unexpected ${command.type}`)
  const message = bodyOf(command, 'MESSAGE')
  t.equal(message.consumer_id, 0n)
  t.equal(message.redelivery_count, 0, 'proto2 default filled in')
  t.same(message.message_id, { ledgerId: 10n, entryId: 3n, partition: -1, batch_index: -1, ack_set: [] })
  t.equal(payload.checksum, 0x23d5e2e8)
  t.equal(payload.metadata.producer_name, 'standalone-0-1')
  t.equal(payload.metadata.sequence_id, 0n)
  t.equal(payload.metadata.num_messages_in_batch, 1, 'present on the wire: a batch of one')
  t.equal(payload.metadata.compression, 'NONE')
  t.same(payload.metadata.schema_version, new Uint8Array(0))
  t.same([...payload.payload], [0, 0, 0, 4, 24, 5, 64, 0, 104, 101, 108, 108, 111])
  t.same(splitMetadataAndPayload(payload.metadataAndPayload).payload, payload.payload)
})
