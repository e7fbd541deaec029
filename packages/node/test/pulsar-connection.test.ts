// The Pulsar connection and its command handlers, in process: a PulsarConnection over an
// in-memory link, served by a stand-in gateway that validates every request it is given (so
// each command must become a well-formed gateway request) and answers from a script. Covers
// the handshake, keep-alive on the virtual clock, bad input, and fast-check fuzzing of random
// valid commands in random order: every request gets exactly one typed reply and the
// connection stays open.
import t from 'tap'
import fc from 'fast-check'
import { VirtualClock, silentLogger } from '@blazar/env'
import { encodeBatch, CompressionCodecs, parseClientRequestBody, type ClientReply, type ClientRequestBody } from '@blazar/protocol'
import {
  FrameDecoder, command, encodeCommand, encodePayloadFrame, type CommandInit, type Frame
} from '@blazar/pulsar-wire'
import { PulsarConnection, type PulsarLink } from '../src/pulsar/pulsar-connection.ts'
import { PulsarCounters } from '../src/pulsar/pulsar-counters.ts'
import { DEFAULT_PULSAR_SETTINGS } from '../src/pulsar/pulsar-settings.ts'
import type { GatewaySession } from '../src/session-state.ts'

type Answer = (body: ClientRequestBody) => ClientReply

interface Harness {
  connection: PulsarConnection
  clock: VirtualClock
  counters: PulsarCounters
  /** Frames the connection wrote, decoded. */
  frames: Frame[]
  requests: ClientRequestBody[]
  /** Requests that were not valid gateway requests. */
  invalid: string[]
  closed: () => boolean
  session: () => GatewaySession | undefined
  send: (cmd: CommandInit, body?: Uint8Array) => void
  settle: () => Promise<void>
}

function harness (answer: Answer): Harness {
  const clock = new VirtualClock()
  const counters = new PulsarCounters()
  const decoder = new FrameDecoder()
  const frames: Frame[] = []
  const requests: ClientRequestBody[] = []
  const invalid: string[] = []
  let closed = false
  let session: GatewaySession | undefined
  let pending = 0
  const link: PulsarLink = {
    remote: 'test:1',
    write: (bytes) => { frames.push(...decoder.push(bytes)) },
    bufferedBytes: 0,
    drained: async () => {},
    pauseReading: () => {},
    resumeReading: () => {},
    close: () => { closed = true }
  }
  const connection = new PulsarConnection({
    link,
    serve: async (from, body) => {
      session = from
      pending++
      try {
        await Promise.resolve()
        requests.push(body)
        // As the gateway does: a body that does not validate is answered MALFORMED_MESSAGE.
        try {
          parseClientRequestBody(body)
        } catch (error) {
          invalid.push(`${body.type}: ${(error as Error).message}`)
          return { ok: false, error: { code: 'MALFORMED_MESSAGE', message: (error as Error).message } }
        }
        return answer(body)
      } finally {
        pending--
      }
    },
    serviceUrl: 'pulsar://127.0.0.1:6650',
    serverVersion: 'test',
    settings: DEFAULT_PULSAR_SETTINGS,
    counters,
    clock,
    logger: silentLogger
  })
  return {
    connection,
    clock,
    counters,
    frames,
    requests,
    invalid,
    closed: () => closed,
    session: () => session,
    send: (cmd, body) => { connection.receive(body === undefined ? encodeCommand(cmd) : encodePayloadFrame(cmd, body)) },
    settle: async () => {
      for (let round = 0; round < 50; round++) {
        await new Promise((resolve) => setImmediate(resolve))
        if (pending === 0) await new Promise((resolve) => setImmediate(resolve))
        if (pending === 0) return
      }
    }
  }
}

const codecs = new CompressionCodecs([])
const storedBatch = encodeBatch([{ payload: new TextEncoder().encode('x'), properties: {}, eventTime: 0, sequenceId: 0 }], { producerName: 'p' }, codecs)

/** A plausible successful result for each request type. */
function okAnswer (body: ClientRequestBody): ClientReply {
  switch (body.type) {
    case 'lookup': return { ok: true, result: { topic: body.topic, partitions: 0, leaders: [] } }
    case 'create-producer': return { ok: true, result: { producerName: body.producerName ?? 'assigned', lastSequenceId: -1, maxMessageSize: 5 * 1024 * 1024 } }
    case 'send': return { ok: true, result: { firstSequenceId: body.batch.firstSequenceId, lastSequenceId: body.batch.lastSequenceId, messageId: { partition: -1, index: 7, batchIndex: 0 }, duplicate: false } }
    case 'topics-list': return { ok: true, result: { topics: ['persistent://public/default/a'] } }
    case 'get-last-message-id': return { ok: true, result: { lastMessageId: { partition: -1, index: 9, batchIndex: 0 }, markDeletePosition: { partition: -1, index: 3, batchIndex: -1 } } }
    default: return { ok: true, result: {} }
  }
}

const connect = command('CONNECT', { client_version: 'test-client', protocol_version: 21 })

t.test('CONNECT answers CONNECTED with the lower protocol version and max_message_size', async (t) => {
  const h = harness(okAnswer)
  h.send(connect)
  t.equal(h.frames[0]?.command.type, 'CONNECTED')
  const connected = h.frames[0]?.command.type === 'CONNECTED' ? h.frames[0].command.connected : undefined
  t.equal(connected?.protocol_version, 20, 'ours (20) is lower than the client\'s (21)')
  t.equal(connected?.max_message_size, DEFAULT_PULSAR_SETTINGS.maxMessageSize)
  const old = harness(okAnswer)
  old.send(command('CONNECT', { client_version: 'old', protocol_version: 13 }))
  t.equal(old.frames[0]?.command.type === 'CONNECTED' ? old.frames[0].command.connected.protocol_version : -1, 13, 'the client\'s when it is lower')
})

t.test('bad input closes the connection, counted by cause', async (t) => {
  const before = harness(okAnswer)
  before.send(command('PING', {}))
  t.ok(before.closed(), 'a command before CONNECT closes it')
  t.same(before.counters.snapshot().badInput, { COMMAND_BEFORE_CONNECT: 1 })
  t.equal(before.frames.length, 0, 'and is not answered')

  const garbage = harness(okAnswer)
  garbage.send(connect)
  garbage.connection.receive(new Uint8Array([0, 0, 0, 5, 0, 0, 0, 1, 0xff]))
  t.ok(garbage.closed(), 'garbage closes it')
  t.equal(Object.keys(garbage.counters.snapshot().badInput as object).length, 1)

  const oversized = harness(okAnswer)
  oversized.connection.receive(new Uint8Array([0x7f, 0xff, 0xff, 0xff]))
  t.ok(oversized.closed(), 'an oversized frame closes it')
  t.same(oversized.counters.snapshot().badInput, { FRAME_TOO_LARGE: 1 })

  const checksum = harness(okAnswer)
  checksum.send(connect)
  checksum.send(command('PRODUCER', { topic: 't', producer_id: 1, request_id: 1 }))
  await checksum.settle()
  const frame = encodePayloadFrame(command('SEND', { producer_id: 1, sequence_id: 0, num_messages: 1 }), storedBatch.body)
  frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 1
  checksum.connection.receive(frame)
  t.ok(checksum.closed(), 'a wrong checksum closes it')
  t.same(checksum.counters.snapshot().badInput, { CHECKSUM_MISMATCH: 1 })

  const truncated = harness(okAnswer)
  truncated.send(connect)
  truncated.connection.receive(encodeCommand(command('PING', {})).subarray(0, 6))
  truncated.connection.ended()
  t.ok(truncated.closed(), 'a stream ending inside a frame closes it')
  t.same(truncated.counters.snapshot().badInput, { TRUNCATED_FRAME: 1 })

  const serverOnly = harness(okAnswer)
  serverOnly.send(connect)
  serverOnly.send(command('SEND_RECEIPT', { producer_id: 1, sequence_id: 1 }))
  await serverOnly.settle()
  t.ok(serverOnly.closed(), 'a command only brokers send closes it')
})

t.test('keep-alive: a silent connection gets a PING, and is closed when the PING goes unanswered', async (t) => {
  const h = harness(okAnswer)
  const interval = DEFAULT_PULSAR_SETTINGS.keepAliveIntervalMs
  h.send(connect)
  h.clock.runUntilSync(interval)
  t.equal(h.frames.at(-1)?.command.type, 'CONNECTED', 'heard from within the interval: no PING')
  h.clock.runUntilSync(2 * interval)
  t.equal(h.frames.at(-1)?.command.type, 'PING', 'silent for an interval: PING')
  h.send(command('PONG', {}))
  h.clock.runUntilSync(3 * interval)
  t.notOk(h.closed(), 'answered: stays open')
  h.clock.runUntilSync(4 * interval)
  t.equal(h.frames.at(-1)?.command.type, 'PING', 'silent again: PING')
  t.notOk(h.closed())
  h.clock.runUntilSync(5 * interval)
  t.ok(h.closed(), 'unanswered: closed')
  t.equal(h.counters.keepAliveTimeouts, 1)
  const slow = harness(okAnswer)
  slow.clock.runUntilSync(DEFAULT_PULSAR_SETTINGS.connectTimeoutMs)
  t.ok(slow.closed(), 'no CONNECT in time: closed')
})

t.test('PING is answered with PONG; LOOKUP names this node with proxy_through_service_url', async (t) => {
  const h = harness(okAnswer)
  h.send(connect)
  h.send(command('PING', {}))
  h.send(command('LOOKUP', { topic: 'persistent://public/default/x', request_id: 4 }))
  await h.settle()
  t.same(h.frames.slice(1).map((f) => f.command.type), ['PONG', 'LOOKUP_RESPONSE'])
  const lookup = h.frames[2]?.command
  if (lookup?.type === 'LOOKUP_RESPONSE') {
    t.equal(lookup.lookupTopicResponse.response, 'Connect')
    t.equal(lookup.lookupTopicResponse.brokerServiceUrl, 'pulsar://127.0.0.1:6650')
    t.equal(lookup.lookupTopicResponse.proxy_through_service_url, true)
  }
})

t.test('receipts of one producer come in send order, and a send that may succeed on a retry closes the producer', async (t) => {
  let sends = 0
  const h = harness((body) => {
    if (body.type !== 'send') return okAnswer(body)
    sends++
    if (sends === 3) return { ok: false, error: { code: 'NOT_LEADER', message: 'leader moved' } }
    return { ok: true, result: { firstSequenceId: body.batch.firstSequenceId, lastSequenceId: body.batch.lastSequenceId, messageId: { partition: -1, index: 10 + sends, batchIndex: 0 }, duplicate: false } }
  })
  h.send(connect)
  h.send(command('PRODUCER', { topic: 't', producer_id: 1, request_id: 1 }))
  await h.settle()
  for (let i = 0; i < 4; i++) {
    const batch = encodeBatch([{ payload: new Uint8Array([i]), properties: {}, eventTime: 0, sequenceId: i }], { producerName: 'assigned' }, codecs)
    h.send(command('SEND', { producer_id: 1, sequence_id: i, num_messages: 1 }), batch.body)
  }
  await h.settle()
  const after = h.frames.slice(2).map((f) => f.command.type === 'SEND_RECEIPT' ? `receipt ${f.command.send_receipt.sequence_id}` : f.command.type)
  t.same(after, ['receipt 0', 'receipt 1', 'CLOSE_PRODUCER'], 'two receipts in order, then the producer is closed; the fourth send waits for the re-created producer')
  t.equal(sends, 3, 'nothing is sent after the failure')
  t.notOk(h.closed())
  t.same(h.invalid, [], 'every command became a valid gateway request')
})

t.test('a consumer\'s commands become gateway requests under its handle; acks map batch indexes', async (t) => {
  const h = harness(okAnswer)
  h.send(connect)
  const start = { ledgerId: 0n, entryId: 5n, partition: -1, batch_index: -1 }
  h.send(command('SUBSCRIBE', { topic: 't', subscription: 'reader-1', subType: 'Exclusive', consumer_id: 9, request_id: 1, durable: false, start_message_id: start }))
  await h.settle()
  h.send(command('FLOW', { consumer_id: 9, messagePermits: 100 }))
  h.send(command('ACK', { consumer_id: 9, ack_type: 'Individual', message_id: [{ ledgerId: 0n, entryId: 6n, partition: -1 }, { ledgerId: 0n, entryId: 7n, partition: -1, batch_index: 0, ack_set: [0b1010n], batch_size: 4 }], request_id: 2 }))
  h.send(command('ACK', { consumer_id: 9, ack_type: 'Cumulative', message_id: [{ ledgerId: 0n, entryId: 8n, partition: -1, ack_set: [0b1100n], batch_size: 4 }] }))
  h.send(command('SEEK', { consumer_id: 9, request_id: 3, message_publish_time: 1_700_000_000_000n }))
  h.send(command('GET_LAST_MESSAGE_ID', { consumer_id: 9, request_id: 4 }))
  await h.settle()
  t.same(h.invalid, [])
  const handle = (h.requests[0] as { consumerId: number }).consumerId
  t.same(h.requests.map((r) => r.type).sort(), ['ack', 'ack', 'close-consumer', 'flow', 'get-last-message-id', 'seek', 'subscribe'])
  t.match(h.requests[0], { durable: false, startMessageId: { index: 5, batchIndex: -1 }, startMessageIdInclusive: true }, 'a reader starts at its message (the client skips it unless inclusive)')
  t.ok(h.requests.every((r) => (r as { consumerId?: number }).consumerId === handle), 'one gateway handle for the client\'s consumer id 9')
  t.same((h.requests[2] as { messageIds: unknown }).messageIds, [
    { partition: -1, index: 6, batchIndex: -1 },
    { partition: -1, index: 7, batchIndex: 0 },
    { partition: -1, index: 7, batchIndex: 2 }
  ], 'a plain id acks its whole entry; an ack_set acks the messages whose bits are clear')
  t.same((h.requests[3] as { messageIds: unknown }).messageIds, [{ partition: -1, index: 8, batchIndex: 1 }], 'cumulative with an ack_set: up to the first message still open')
  const types = h.frames.slice(1).map((f) => f.command.type)
  t.same([...types].sort(), ['ACK_RESPONSE', 'CLOSE_CONSUMER', 'GET_LAST_MESSAGE_ID_RESPONSE', 'SUCCESS', 'SUCCESS'])
  t.ok(types.indexOf('CLOSE_CONSUMER') < types.lastIndexOf('SUCCESS'), 'a seek closes the consumer before its SUCCESS, as Pulsar brokers do')
  const last = h.frames.find((f) => f.command.type === 'GET_LAST_MESSAGE_ID_RESPONSE')?.command
  if (last?.type === 'GET_LAST_MESSAGE_ID_RESPONSE') {
    t.equal(last.getLastMessageIdResponse.last_message_id.entryId, 9n)
    t.equal(last.getLastMessageIdResponse.last_message_id.batch_index, -1, 'the entry, not a batch index')
  }
})

// ---- fuzzing ---------------------------------------------------------------------------

const id = fc.integer({ min: 0, max: 3 })
const requestId = fc.integer({ min: 1, max: 1_000_000 })
const topic = fc.constantFrom('persistent://public/default/a', 'b', 'persistent://public/default/c-partition-1', 'bad topic//x')
const messageId = fc.record({
  ledgerId: fc.constantFrom(0n, 2n ** 64n - 1n, 2n ** 63n - 1n, 5n),
  entryId: fc.constantFrom(0n, 1n, 42n, 2n ** 64n - 1n, 2n ** 63n - 1n),
  partition: fc.integer({ min: -1, max: 3 }),
  batch_index: fc.integer({ min: -1, max: 5 }),
  ack_set: fc.array(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), { maxLength: 2 })
})

/** Valid commands a client may send after CONNECT, with the request id each one expects an answer to. */
const clientCommand: fc.Arbitrary<{ cmd: CommandInit, body?: Uint8Array, requestId?: number }> = fc.oneof(
  fc.constant({ cmd: command('PING', {}) }),
  fc.record({ t: topic, r: requestId }).map(({ t, r }) => ({ cmd: command('PARTITIONED_METADATA', { topic: t, request_id: r }), requestId: r })),
  fc.record({ t: topic, r: requestId }).map(({ t, r }) => ({ cmd: command('LOOKUP', { topic: t, request_id: r }), requestId: r })),
  fc.record({ t: topic, p: id, r: requestId, name: fc.option(fc.constantFrom('n1', ''), { nil: undefined }), mode: fc.constantFrom('Shared', 'Exclusive', 'WaitForExclusive', 'ExclusiveWithFencing') as fc.Arbitrary<'Shared'> }).map(({ t, p, r, name, mode }) => ({
    cmd: command('PRODUCER', { topic: t, producer_id: p, request_id: r, producer_access_mode: mode, ...(name === undefined ? {} : { producer_name: name }) }),
    requestId: r
  })),
  fc.record({ p: id, s: fc.integer({ min: 0, max: 100 }) }).map(({ p, s }) => ({ cmd: command('SEND', { producer_id: p, sequence_id: s, num_messages: 1 }), body: storedBatch.body })),
  fc.record({ p: id, r: requestId }).map(({ p, r }) => ({ cmd: command('CLOSE_PRODUCER', { producer_id: p, request_id: r }), requestId: r })),
  fc.record({ t: topic, c: id, r: requestId, sub: fc.constantFrom('s1', 's2'), type: fc.constantFrom('Exclusive', 'Shared', 'Failover', 'Key_Shared') as fc.Arbitrary<'Shared'>, durable: fc.boolean(), start: fc.option(messageId, { nil: undefined }) }).map(({ t, c, r, sub, type, durable, start }) => ({
    cmd: command('SUBSCRIBE', { topic: t, subscription: sub, subType: type, consumer_id: c, request_id: r, durable, ...(start === undefined ? {} : { start_message_id: start }) }),
    requestId: r
  })),
  fc.record({ c: id, n: fc.integer({ min: 0, max: 2_000_000 }) }).map(({ c, n }) => ({ cmd: command('FLOW', { consumer_id: c, messagePermits: n }) })),
  fc.record({ c: id, type: fc.constantFrom('Individual', 'Cumulative') as fc.Arbitrary<'Individual'>, ids: fc.array(messageId, { maxLength: 3 }), r: fc.option(requestId, { nil: undefined }) }).map(({ c, type, ids, r }) => ({
    cmd: command('ACK', { consumer_id: c, ack_type: type, message_id: ids, ...(r === undefined ? {} : { request_id: r }) }),
    ...(r === undefined ? {} : { requestId: r })
  })),
  fc.record({ c: id, ids: fc.array(messageId, { maxLength: 3 }) }).map(({ c, ids }) => ({ cmd: command('REDELIVER_UNACKNOWLEDGED_MESSAGES', { consumer_id: c, message_ids: ids }) })),
  fc.record({ c: id, r: requestId, at: fc.option(messageId, { nil: undefined }), time: fc.option(fc.bigInt({ min: 0n, max: 2n ** 50n }), { nil: undefined }) }).map(({ c, r, at, time }) => ({
    cmd: command('SEEK', { consumer_id: c, request_id: r, ...(at === undefined ? {} : { message_id: at }), ...(time === undefined ? {} : { message_publish_time: time }) }),
    requestId: r
  })),
  fc.record({ c: id, r: requestId }).map(({ c, r }) => ({ cmd: command('UNSUBSCRIBE', { consumer_id: c, request_id: r }), requestId: r })),
  fc.record({ c: id, r: requestId }).map(({ c, r }) => ({ cmd: command('CLOSE_CONSUMER', { consumer_id: c, request_id: r }), requestId: r })),
  fc.record({ c: id, r: requestId }).map(({ c, r }) => ({ cmd: command('GET_LAST_MESSAGE_ID', { consumer_id: c, request_id: r }), requestId: r })),
  fc.record({ r: requestId, ns: fc.constantFrom('public/default', 'x', 'public/default/extra'), pattern: fc.option(fc.constantFrom('.*a', '(', 'persistent://public/default/.*'), { nil: undefined }) }).map(({ r, ns, pattern }) => ({
    cmd: command('GET_TOPICS_OF_NAMESPACE', { request_id: r, namespace: ns, ...(pattern === undefined ? {} : { topics_pattern: pattern }) }),
    requestId: r
  })),
  fc.record({ r: requestId, t: topic }).map(({ r, t }) => ({ cmd: command('GET_SCHEMA', { request_id: r, topic: t }), requestId: r })),
  fc.record({ r: requestId, t: topic, type: fc.constantFrom('None', 'String', 'Json', 'Avro') as fc.Arbitrary<'None'> }).map(({ r, t, type }) => ({
    cmd: command('GET_OR_CREATE_SCHEMA', { request_id: r, topic: t, schema: { name: 's', schema_data: new Uint8Array(), type } }),
    requestId: r
  })),
  fc.record({ r: requestId }).map(({ r }) => ({ cmd: command('NEW_TXN', { request_id: r }), requestId: r })),
  fc.record({ r: requestId, c: id }).map(({ r, c }) => ({ cmd: command('CONSUMER_STATS', { request_id: r, consumer_id: c }), requestId: r }))
)

const ERROR_CODES = ['NOT_LEADER', 'UNKNOWN_TOPIC', 'CONSUMER_BUSY', 'CONSUMER_CLOSED', 'UNSUPPORTED_OPERATION', 'OUTCOME_UNKNOWN', 'MALFORMED_MESSAGE', 'SOMETHING_NEW']

/** Reply types that answer a request id. */
const ANSWERS = new Set(['SUCCESS', 'ERROR', 'PRODUCER_SUCCESS', 'PARTITIONED_METADATA_RESPONSE', 'LOOKUP_RESPONSE', 'ACK_RESPONSE', 'GET_LAST_MESSAGE_ID_RESPONSE', 'GET_TOPICS_OF_NAMESPACE_RESPONSE', 'GET_SCHEMA_RESPONSE', 'GET_OR_CREATE_SCHEMA_RESPONSE'])

t.test('fuzz: random valid commands in random order get typed replies and keep the connection open', async (t) => {
  await fc.assert(fc.asyncProperty(
    fc.array(clientCommand, { minLength: 1, maxLength: 40 }),
    fc.array(fc.option(fc.constantFrom(...ERROR_CODES), { freq: 2 }), { minLength: 1, maxLength: 40 }),
    async (commands, failures) => {
      let n = 0
      const h = harness((body) => {
        const failure = failures[n++ % failures.length]
        return failure === null || failure === undefined ? okAnswer(body) : { ok: false, error: { code: failure, message: `scripted ${failure}` } }
      })
      h.send(connect)
      for (const { cmd, body } of commands) h.send(cmd, body)
      await h.settle()
      if (h.closed()) throw new Error(`the connection closed: ${JSON.stringify(h.counters.snapshot().badInput)}`)
      const expected = commands.flatMap((c) => c.requestId === undefined ? [] : [c.requestId]).sort((a, b) => a - b)
      const answered = h.frames.slice(1).filter((f) => ANSWERS.has(f.command.type)).map((f) => Number((Object.values(f.command).find((v) => typeof v === 'object') as { request_id: bigint }).request_id)).sort((a, b) => a - b)
      if (JSON.stringify(answered) !== JSON.stringify(expected)) throw new Error(`answered ${JSON.stringify(answered)}, expected ${JSON.stringify(expected)}`)
      const errors = h.frames.filter((f) => f.command.type === 'ERROR')
      for (const e of errors) if (e.command.type === 'ERROR' && e.command.error.message.length === 0) throw new Error('an ERROR without a message')
      h.connection.closed()
    }
  ), { numRuns: 300 })
  t.pass('every request answered exactly once, with a typed reply')
})
