// A consumer forwarded through a non-leader: its flow requests travel on the upstream
// connection to the leader's node while that node's pushes fill the connection, and the
// relay hands each transport push permit back once the push was passed on. Many receiver
// queues' worth must arrive (issue 15, bug 3: consumers stopped after their first queue).
import t from 'tap'
import { CompressionCodecs, encodeBatch, parseClientRequestBody, type ClientReply, type DeliveredEntry } from '@blazar/protocol'
import { SystemClock, Transport } from '@blazar/transport'
import { UPSTREAM_PUSH_PERMITS, UpstreamPool } from '../src/upstreams.ts'

const RECEIVER_QUEUE = 400
const ROUNDS = 3

t.test('flow top-ups through a forwarded handle are acted on while the leader pushes; relayed pushes give their permits back', async (t) => {
  const leader = await Transport.start({})
  const relay = await Transport.start({})
  const clock = new SystemClock()
  const pool = new UpstreamPool(relay, clock)
  t.teardown(async () => {
    clock.stop()
    await pool.closeAll()
    await relay.stop()
    await leader.stop()
  })
  const batch = encodeBatch([{ properties: {}, payload: new Uint8Array(32 * 1024), eventTime: 0, sequenceId: 0 }], { producerName: 'p' }, new CompressionCodecs())
  let nextIndex = 1
  // The leader's side of the client protocol, as a node serves a consumer: a flow of n permits
  // lets it push n one-message batches.
  leader.onClientRequest(async ({ body, session }): Promise<ClientReply> => {
    const request = parseClientRequestBody(body)
    if (request.type === 'flow') {
      for (let i = 0; i < request.permits; i++) {
        const entry: DeliveredEntry = { messageId: { partition: 0, index: nextIndex++, batchIndex: -1 }, redeliveryCount: 0, publishTime: 0, batch }
        session.push({ type: 'messages', consumerId: request.consumerId, entries: [entry] }).catch(() => {})
      }
    }
    return { ok: true, result: {} }
  })
  await relay.addPeerAddresses(leader.id, leader.addresses())
  const upstream = await pool.get(leader.id)
  const consumerId = upstream.allocateHandle()
  const relayed: number[] = []
  let closed = false
  let reached: { count: number, resolve: () => void } | undefined
  upstream.listen(consumerId, async (push) => {
    // Passing a push on to the client takes a turn of the event loop.
    await new Promise((resolve) => { setImmediate(resolve) })
    if (push.type === 'messages') for (const entry of push.entries) relayed.push(entry.messageId.index)
    if (reached !== undefined && relayed.length >= reached.count) reached.resolve()
  }, () => { closed = true })
  /** Resolves once `count` messages were relayed; the timeout only turns a stall into a failure. */
  const relayedUpTo = async (count: number): Promise<void> => {
    if (relayed.length >= count) return
    await new Promise<void>((resolve, reject) => {
      reached = { count, resolve }
      setTimeout(() => { reject(new Error(`stalled after ${relayed.length} of ${count} messages`)) }, 20_000).unref()
    })
  }
  const subscribed = await upstream.request({ type: 'subscribe', topic: 'persistent://public/default/t', subscription: 's', consumerId, subscriptionType: 'Exclusive', initialPosition: 'Earliest', durable: true })
  t.ok(subscribed.ok)
  for (let round = 1; round <= ROUNDS; round++) {
    // What the client does once it has taken its queue: the next flow, forwarded upstream.
    const reply = await upstream.request({ type: 'flow', consumerId, permits: RECEIVER_QUEUE })
    t.ok(reply.ok, `round ${round}: the flow was answered`)
    await relayedUpTo(round * RECEIVER_QUEUE)
    t.equal(relayed.length, round * RECEIVER_QUEUE, `round ${round}: every permitted message was relayed`)
  }
  t.ok(ROUNDS * RECEIVER_QUEUE > UPSTREAM_PUSH_PERMITS, 'more pushes than the permits granted up front: each relay gave its permit back')
  t.same(relayed, Array.from({ length: ROUNDS * RECEIVER_QUEUE }, (_, i) => i + 1), 'in order, none lost')
  t.notOk(closed, 'the upstream connection stayed up')
})
