import t from 'tap'
import fc from 'fast-check'
import {
  CompressionCodecs, MalformedMessageError, UnknownTopicError, decodeClientRequest, decodeClientResponse,
  decodeServerPush, encodeBatch, encodeClientRequest, encodeClientResponse, encodeServerPush, errorFromWire, pack,
  type ClientRequest
} from '../src/index.ts'

const batch = encodeBatch([{ properties: {}, payload: new Uint8Array([7]), eventTime: 0, sequenceId: 0 }], { producerName: 'p' }, new CompressionCodecs())

const requests: ClientRequest[] = [
  { id: 1, body: { type: 'lookup', topic: 'orders' } },
  { id: 2, body: { type: 'create-producer', topic: 'orders', producerId: 1, accessMode: 'Shared' } },
  { id: 3, body: { type: 'send', producerId: 1, batch } },
  { id: 4, body: { type: 'subscribe', topic: 'orders', subscription: 's', consumerId: 1, subscriptionType: 'Exclusive', initialPosition: 'Latest', durable: true } },
  { id: 5, body: { type: 'flow', consumerId: 1, permits: 1000 } },
  { id: 6, body: { type: 'ack', consumerId: 1, ackType: 'Cumulative', messageIds: [{ partition: -1, index: 4, batchIndex: 0 }] } },
  { id: 7, body: { type: 'redeliver', consumerId: 1 } },
  { id: 8, body: { type: 'namespaces-create', namespace: 'acme/payments', policies: { replicationFactor: 3 } } },
  { id: 9, body: { type: 'topics-create', topic: 'acme/payments/orders', partitions: 4 } },
  { id: 10, body: { type: 'cluster-status' } }
]

/** JSON form with every byte array (Uint8Array or Buffer alike) as a plain array. */
function plain (value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, function (this: Record<string, unknown>, key, json) {
    const raw = this[key]
    return raw instanceof Uint8Array ? [...raw] : json
  }))
}

t.test('requests round-trip', async (t) => {
  for (const request of requests) {
    const back = decodeClientRequest(encodeClientRequest(request))
    t.same(plain(back), plain(request), request.body.type)
  }
})

t.test('responses: results validated per request type, errors back to their class', async (t) => {
  const ok = decodeClientResponse(encodeClientResponse({ id: 3, ok: true, result: { firstSequenceId: 0, lastSequenceId: 0, messageId: { partition: -1, index: 4, batchIndex: 0 }, duplicate: false } }), 'send')
  t.match(ok, { id: 3, ok: true, result: { messageId: { index: 4 } } })
  t.throws(() => decodeClientResponse(encodeClientResponse({ id: 3, ok: true, result: { nope: 1 } }), 'send'), MalformedMessageError)
  const failed = decodeClientResponse(encodeClientResponse({ id: 4, ok: false, error: new UnknownTopicError({ topic: 'x' }).toWire() }), 'lookup')
  t.equal(failed.ok, false)
  if (!failed.ok) t.ok(errorFromWire(failed.error) instanceof UnknownTopicError)
})

t.test('server pushes round-trip', async (t) => {
  const push = { type: 'messages' as const, consumerId: 1, entries: [{ messageId: { partition: 0, index: 9, batchIndex: 0 }, redeliveryCount: 0, publishTime: 5, batch }] }
  t.equal(decodeServerPush(encodeServerPush(push)).type, 'messages')
})

t.test('hostile input is a MalformedMessageError, never a crash', async (t) => {
  const check = (decode: () => unknown): boolean => {
    try {
      decode()
      return true
    } catch (error) {
      return error instanceof MalformedMessageError
    }
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) =>
    check(() => decodeClientRequest(bytes)) && check(() => decodeServerPush(bytes)) && check(() => decodeClientResponse(bytes, 'lookup'))))
  fc.assert(fc.property(fc.anything(), (value) => check(() => decodeClientRequest(pack({ id: 1, body: value })))))
  t.throws(() => decodeClientRequest(pack({ id: 1, body: { type: 'flow', consumerId: 1, permits: 1e12 } })), MalformedMessageError)
  t.throws(() => decodeClientRequest(pack({ id: 1, body: { type: '__proto__' } })), MalformedMessageError)
})
