import t from 'tap'
import {
  BadFrameSizeError, BadMagicError, ChecksumMismatchError, FrameDecoder, FrameTooLargeError, InvalidFieldError,
  MalformedProtobufError, MissingRequiredFieldError, TruncatedFrameError, UnknownCommandTypeError, command,
  decodeFrame, encodeCommand, encodePayloadCommand, encodePayloadFrame, encodeMetadataAndPayload, negotiateProtocolVersion, replies
} from '../src/index.ts'

const decodeOne = (bytes: Uint8Array) => {
  const frames = new FrameDecoder().push(bytes)
  if (frames.length !== 1) throw new Error(`${frames.length} frames`)
  return frames[0]
}

t.test('simple commands round-trip with defaults filled and 64-bit ids as bigint', async (t) => {
  const frame = decodeOne(encodeCommand(command('SUBSCRIBE', {
    topic: 'persistent://public/default/t', subscription: 's', subType: 'Failover', consumer_id: 7, request_id: 2n ** 63n
  })))
  if (frame.command.type !== 'SUBSCRIBE') return t.fail()
  const s = frame.command.subscribe
  t.equal(s.consumer_id, 7n)
  t.equal(s.request_id, 2n ** 63n)
  t.equal(s.subType, 'Failover')
  t.equal(s.durable, true, 'proto2 default')
  t.equal(s.initialPosition, 'Latest', 'proto2 enum default')
  t.same(s.metadata, [])
  t.equal(s.start_message_id, undefined)
})

t.test('payload commands round-trip and verify their checksum', async (t) => {
  const payload = new TextEncoder().encode('hello')
  const bytes = encodePayloadCommand(command('SEND', { producer_id: 1, sequence_id: 5, num_messages: 1 }),
    { producer_name: 'p', sequence_id: 5, publish_time: 1700000000000, properties: [{ key: 'a', value: 'b' }] }, payload)
  const frame = decodeOne(bytes)
  t.equal(frame.command.type, 'SEND')
  t.same(frame.payload?.payload, payload)
  t.same(frame.payload?.metadata.properties, [{ key: 'a', value: 'b' }])
  t.equal(frame.payload?.metadata.num_messages_in_batch, undefined, 'presence kept: not a batch')
  t.same(frame.payload?.metadataAndPayload, encodeMetadataAndPayload({ producer_name: 'p', sequence_id: 5, publish_time: 1700000000000, properties: [{ key: 'a', value: 'b' }] }, payload))
  const flipped = bytes.slice()
  flipped[flipped.length - 1] ^= 1
  t.throws(() => decodeOne(flipped), ChecksumMismatchError)
  const entry = decodeOne(encodePayloadFrame(replies.message({ consumerId: 3, messageId: { ledgerId: 1, entryId: 9 } }),
    frame.payload!.metadataAndPayload, { broker_timestamp: 5, index: 8 }))
  t.same(entry.payload?.brokerEntryMetadata, { broker_timestamp: 5n, index: 8n }, 'broker-entry metadata recognised')
  t.same(entry.payload?.payload, payload)
})

t.test('typed errors for each kind of bad input', async (t) => {
  const ping = encodeCommand(replies.ping())
  t.throws(() => new FrameDecoder({ maxFrameSize: 64 }).push(Uint8Array.of(0, 0, 1, 0)), FrameTooLargeError)
  t.throws(() => decodeFrame(Uint8Array.of(0, 0, 0, 9, 1)), BadFrameSizeError)
  t.throws(() => decodeFrame(Uint8Array.of(0, 0)), TruncatedFrameError)
  t.throws(() => decodeFrame(Uint8Array.of(0, 0, 0, 2, 0xff, 0xff)), MalformedProtobufError)
  t.throws(() => decodeFrame(Uint8Array.of(0, 0, 0, 0)), MissingRequiredFieldError, 'BaseCommand.type')
  t.throws(() => decodeFrame(Uint8Array.of(0, 0, 0, 2, 8, 99)), UnknownCommandTypeError)
  t.throws(() => decodeFrame(Uint8Array.of(0, 0, 0, 2, 8, 18)), MissingRequiredFieldError, 'PING without its ping field')
  t.throws(() => decodeFrame(Uint8Array.of(...ping.subarray(4), 0x0e, 0x01)), BadFrameSizeError, 'payload on a PING')
  const send = encodeCommand(command('SEND', { producer_id: 1, sequence_id: 1 }))
  t.throws(() => decodeFrame(Uint8Array.of(...send.subarray(4), 0x0e, 0x03, 0, 0, 0, 0, 0, 0, 0, 0)), BadMagicError)
  t.throws(() => decodeFrame(send.subarray(4)), BadFrameSizeError, 'SEND without payload')
  const decoder = new FrameDecoder()
  decoder.push(ping.subarray(0, 5))
  t.throws(() => decoder.finish(), TruncatedFrameError)
  t.throws(() => encodeCommand(command('ERROR', { request_id: 1, error: 'NoSuchCode' as 'UnknownError', message: 'x' })), InvalidFieldError)
  t.throws(() => encodeCommand(command('FLOW', { consumer_id: 1 } as { consumer_id: number, messagePermits: number })), MissingRequiredFieldError)
})

t.test('protocol version negotiation answers the lower version', async (t) => {
  t.equal(negotiateProtocolVersion(17), 17)
  t.equal(negotiateProtocolVersion(21), 20)
  const frame = decodeOne(encodeCommand(replies.connected({ serverVersion: 'Blazar', protocolVersion: 17, maxMessageSize: 5242880 })))
  t.same(frame.command, { type: 'CONNECTED', connected: { server_version: 'Blazar', protocol_version: 17, max_message_size: 5242880 } })
})
