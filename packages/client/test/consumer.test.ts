// Consumers against the fake cluster: permits, decoding, acks, negative acks, timeouts, and
// re-subscribing after a consumer-closed push or a lost connection with the queue cleared.
import t from 'tap'
import { ConsumerClosedError, MessageId, NON_PARTITIONED, TimeoutError } from '@blazar/protocol'
import { FakeCluster } from './fixtures/fake-cluster.ts'
import { startClient, text } from './fixtures/helpers.ts'
import { ManualTimers } from './fixtures/manual-timers.ts'

t.test('a round trip: every field of a message, in order, and acknowledgements', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('trip')
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'trip', subscription: 'sub', subscriptionInitialPosition: 'Earliest', acknowledgementsGroupTimeMs: 0 })
  const producer = await client.createProducer({ topic: 'trip' })
  const ids = await Promise.all([
    producer.send({ data: 'one', key: 'k1', properties: { p: '1' }, eventTime: 42 }),
    producer.send({ data: 'two' })
  ])
  const first = await consumer.receive(5_000)
  const second = await consumer.receive(5_000)
  t.same({ data: text(first.data), key: first.key, properties: first.properties, eventTime: first.eventTime, redeliveryCount: first.redeliveryCount, topic: first.topic },
    { data: 'one', key: 'k1', properties: { p: '1' }, eventTime: 42, redeliveryCount: 0, topic: 'persistent://public/default/trip' })
  t.ok(first.publishTime > 0)
  t.ok(first.messageId.equals(ids[0]), 'the consumer sees the ID the producer got')
  t.ok(second.messageId.equals(ids[1]))
  t.equal(second.key, undefined)
  await consumer.acknowledge(first)
  await consumer.acknowledgeCumulative(second.messageId)
  const acks = cluster.requestsOf('ack').map((r) => r.body.type === 'ack' ? [r.body.ackType, r.body.messageIds[0].batchIndex] : [])
  t.same(acks, [['Individual', 0], ['Cumulative', 1]])
  const subscribe = cluster.requestsOf('subscribe')[0].body
  t.match(subscribe, { subscriptionType: 'Exclusive', initialPosition: 'Earliest', durable: true, subscription: 'sub' })
})

t.test('flow permits: the whole queue first, then half of it each time half was taken', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('flow')
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'flow', subscription: 's', receiverQueueSize: 4 })
  const producer = await client.createProducer({ topic: 'flow', batchingEnabled: false })
  await Promise.all(Array.from({ length: 6 }, (_, i) => producer.send({ data: `m${i}` })))
  const permits = () => cluster.requestsOf('flow').map((r) => r.body.type === 'flow' ? r.body.permits : 0)
  t.same(permits(), [4])
  t.equal(text((await consumer.receive(5_000)).data), 'm0')
  t.same(permits(), [4], 'one taken: below half the queue')
  t.equal(text((await consumer.receive(5_000)).data), 'm1')
  await cluster.waitForRequests((r) => r.body.type === 'flow', 2)
  t.same(permits(), [4, 2])
  const rest = []
  for (let i = 0; i < 4; i++) rest.push(text((await consumer.receive(5_000)).data))
  t.same(rest, ['m2', 'm3', 'm4', 'm5'])
})

t.test('receive times out with TimeoutError; close rejects waiting and later receives', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('quiet')
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'quiet', subscription: 's' })
  await t.rejects(consumer.receive(20), TimeoutError)
  const waiting = consumer.receive()
  await consumer.close()
  await t.rejects(waiting, ConsumerClosedError)
  await t.rejects(consumer.receive(), ConsumerClosedError)
  await t.rejects(consumer.acknowledge(MessageId.earliest()), ConsumerClosedError)
  t.equal(cluster.requestsOf('close-consumer').length, 1)
})

t.test('a negative ack is redelivered after the delay', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('nack')
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'nack', subscription: 's', negativeAckRedeliveryDelayMs: 10 })
  const producer = await client.createProducer({ topic: 'nack' })
  await producer.send({ data: 'again' })
  const first = await consumer.receive(5_000)
  consumer.negativeAcknowledge(first)
  const again = await consumer.receive(5_000)
  t.equal(text(again.data), 'again')
  t.equal(again.redeliveryCount, 1)
  const redeliver = cluster.requestsOf('redeliver')[0].body
  t.same(redeliver.type === 'redeliver' ? redeliver.messageIds : [], [first.messageId.toData()])
})

t.test('consumer-closed push: subscribes again, drops the queued messages, and unacknowledged ones come back', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('failover')
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'failover', subscription: 's', acknowledgementsGroupTimeMs: 0 })
  const producer = await client.createProducer({ topic: 'failover', batchingEnabled: false })
  for (let i = 0; i < 3; i++) await producer.send({ data: `m${i}` })
  const m0 = await consumer.receive(5_000)
  await consumer.acknowledge(m0)
  const m1 = await consumer.receive(5_000)
  t.equal(text(m1.data), 'm1')
  t.equal(consumer.queuedMessages, 1, 'm2 waits in the receiver queue')
  cluster.moveLeader('failover', -1, 0)
  await cluster.waitForRequests((r) => r.body.type === 'subscribe', 2)
  await cluster.waitForRequests((r) => r.body.type === 'flow', 2)
  const replayed = [await consumer.receive(5_000), await consumer.receive(5_000)]
  t.same(replayed.map((m) => text(m.data)), ['m1', 'm2'], 'the unacknowledged messages again, once each')
  t.same(replayed.map((m) => m.redeliveryCount), [1, 1])
  const handles = cluster.requestsOf('subscribe').map((r) => (r.body as { consumerId: number }).consumerId)
  t.equal(handles[1], handles[0], 'subscribed again with the same handle')
  t.ok(consumer.isConnected())
})

t.test('a lost connection (the leader\'s node stops): consumer and producer attach again through a node they can reach', async (t) => {
  const cluster = await FakeCluster.start(t, 2)
  cluster.createTopic('lossy', 0, 1)
  const client = await startClient(t, cluster, { serviceUrl: [cluster.address(0)] })
  const consumer = await client.subscribe({ topic: 'lossy', subscription: 's' })
  const producer = await client.createProducer({ topic: 'lossy', batchingEnabled: false })
  t.same(cluster.requestsOf('subscribe').map((r) => r.node), [1], 'attached directly to the leader\'s node')
  await producer.send({ data: 'before' })
  t.equal(text((await consumer.receive(5_000)).data), 'before')
  cluster.advertised.set(1, [])
  await cluster.stopNode(1)
  await cluster.waitForRequests((r) => r.body.type === 'subscribe', 2)
  await cluster.waitForRequests((r) => r.body.type === 'create-producer', 2)
  t.same(cluster.requestsOf('subscribe').map((r) => r.node), [1, 0], 'the leader cannot be dialled: through the bootstrap node')
  const sent = await producer.send({ data: 'after' })
  t.equal(sent.index, 2)
  const next = await consumer.receive(5_000)
  t.equal(text(next.data), 'before', 'unacknowledged, so delivered again first')
  t.equal(text((await consumer.receive(5_000)).data), 'after')
})

t.test('unsubscribe deletes the subscription and closes the consumer', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('gone')
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'gone', subscription: 's' })
  await consumer.unsubscribe()
  t.equal(cluster.requestsOf('unsubscribe').length, 1)
  await t.rejects(consumer.receive(), ConsumerClosedError)
  await t.rejects(consumer.unsubscribe(), ConsumerClosedError)
})

t.test('ZLIB batches are compressed by the producer and decoded by the consumer', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('zipped')
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'zipped', subscription: 's' })
  const producer = await client.createProducer({ topic: 'zipped', compressionType: 'ZLIB' })
  const payload = 'compressible '.repeat(200)
  await Promise.all([producer.send({ data: payload }), producer.send({ data: 'second' })])
  const [entry] = cluster.entries('zipped')
  t.equal(entry.batch.compression, 'ZLIB')
  t.ok(entry.batch.body.length < entry.batch.uncompressedSize / 4)
  t.same([text((await consumer.receive(5_000)).data), text((await consumer.receive(5_000)).data)], [payload, 'second'])
})

t.test('flow top-ups follow every attachment: direct, re-subscribed after consumer-closed, re-subscribed through another node after a lost connection', async (t) => {
  const cluster = await FakeCluster.start(t, 3)
  cluster.createTopic('topups', 0, 1)
  const client = await startClient(t, cluster, { serviceUrl: [cluster.address(0)] })
  const producer = await client.createProducer({ topic: 'topups', batchingEnabled: false })
  await Promise.all(Array.from({ length: 18 }, (_, i) => producer.send({ data: `m${i}` })))
  // Acks are not grouped here: each is answered before the next fault, so nothing acknowledged
  // comes back and every phase takes six new messages, whatever the machine's speed.
  const consumer = await client.subscribe({
    topic: 'topups', subscription: 's', receiverQueueSize: 4, subscriptionInitialPosition: 'Earliest', acknowledgementsGroupTimeMs: 0
  })
  const received = new Set<string>()
  /** Takes (and acknowledges) six messages: more than the queue, so top-ups must be acted on. */
  const takeSix = async (): Promise<void> => {
    for (let i = 0; i < 6; i++) {
      const message = await consumer.receive(5_000)
      received.add(text(message.data))
      await consumer.acknowledge(message)
    }
  }
  const phases: Array<{ path: string, fault: () => Promise<void> }> = [
    { path: 'attached directly at the leader', fault: async () => {} },
    { path: 'after consumer-closed (leader moved)', fault: async () => { cluster.moveLeader('topups', -1, 2) } },
    { path: 'after the connection was lost (through the bootstrap node)', fault: async () => { cluster.advertised.set(2, []); await cluster.stopNode(2) } }
  ]
  for (const [n, phase] of phases.entries()) {
    await phase.fault()
    const subscribe = (await cluster.waitForRequests((r) => r.body.type === 'subscribe', n + 1))[n]
    const flowsBefore = cluster.requests.indexOf(subscribe)
    await takeSix()
    const flows = cluster.requests.slice(flowsBefore).filter((r) => r.body.type === 'flow')
    t.ok(flows.length >= 2, `${phase.path}: the whole queue, then top-ups (${flows.map((f) => (f.body as { permits: number }).permits).join(', ')})`)
    t.ok(flows.every((f) => f.node === subscribe.node), `${phase.path}: granted where the consumer is attached (node ${subscribe.node})`)
  }
  t.same(cluster.requestsOf('subscribe').map((r) => r.node), [1, 2, 0])
  t.equal(received.size, 18, 'every message arrived')
})

t.test('a subscribe overtaken by consumer-closed (the leader moved meanwhile) subscribes again, and top-ups are acted on there', async (t) => {
  const cluster = await FakeCluster.start(t, 2)
  cluster.createTopic('moving', 0, 0)
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'moving', batchingEnabled: false })
  await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ data: `m${i}` })))
  // The first subscribe is attached, then the leader moves before its answer is written: the
  // consumer-closed push reaches the client first.
  const moveOnFirstSubscribe = (): void => {
    const subscribes = cluster.requestsOf('subscribe')
    if (subscribes.length !== 1) return
    cluster.off('request', moveOnFirstSubscribe)
    cluster.moveLeader('moving', -1, 1)
  }
  cluster.on('request', moveOnFirstSubscribe)
  const consumer = await client.subscribe({ topic: 'moving', subscription: 's', receiverQueueSize: 4, subscriptionInitialPosition: 'Earliest' })
  const received = new Set<string>()
  while (received.size < 10) {
    const message = await consumer.receive(5_000)
    received.add(text(message.data))
    await consumer.acknowledge(message)
  }
  const subscribes = cluster.requestsOf('subscribe')
  t.same(subscribes.map((r) => r.node), [0, 1], 'subscribed again at the new leader')
  const flows = cluster.requestsOf('flow')
  t.ok(flows.length >= 3 && flows.every((f) => f.node === 1), `the whole queue and its top-ups went to the new leader (${flows.map((f) => `${f.node}:${(f.body as { permits: number }).permits}`).join(', ')})`)
})

t.test('a flow refused with CONSUMER_CLOSED (the consumer-closed push was lost) subscribes again instead of stalling', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('lost-close')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'lost-close', batchingEnabled: false })
  await Promise.all(Array.from({ length: 8 }, (_, i) => producer.send({ data: `m${i}` })))
  const consumer = await client.subscribe({ topic: 'lost-close', subscription: 's', receiverQueueSize: 4, subscriptionInitialPosition: 'Earliest' })
  const first = await consumer.receive(5_000)
  await consumer.acknowledge(first)
  cluster.dropConsumersSilently('lost-close', -1)
  const received = new Set([text(first.data)])
  while (received.size < 8) {
    const message = await consumer.receive(5_000)
    received.add(text(message.data))
    await consumer.acknowledge(message)
  }
  t.equal(cluster.requestsOf('subscribe').length, 2, 'subscribed again after the refused top-up')
  t.equal(received.size, 8, 'and received everything')
})

t.test('a subscribe left unanswered is closed at the node it went to (as Pulsar\'s Java client does), so it cannot attach later and hold messages', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('silent')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  cluster.unansweredSubscribes = 1
  const subscribing = client.subscribe({ topic: 'silent', subscription: 's' })
  const [subscribe] = await cluster.waitForRequests((r) => r.body.type === 'subscribe')
  timers.advance(5_000)
  await t.rejects(subscribing, TimeoutError)
  const closes = cluster.requestsOf('close-consumer')
  const consumerId = subscribe.body.type === 'subscribe' ? subscribe.body.consumerId : -1
  t.same(closes.map((r) => r.body.type === 'close-consumer' ? r.body.consumerId : -1), [consumerId], 'the unanswered subscribe\'s handle was closed')
  const consumer = await client.subscribe({ topic: 'silent', subscription: 's' })
  t.ok(consumer.isConnected(), 'a later subscribe works')
})

t.test('a consumer closed while its re-subscribe is in flight closes that subscribe at the node once it is answered (found by the node simulation with consumer churn, node-pauses seed 151: an Exclusive subscription then refused every later consumer with CONSUMER_BUSY)', async (t) => {
  const cluster = await FakeCluster.start(t, 2)
  cluster.createTopic('moving')
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'moving', subscription: 's', subscriptionType: 'Exclusive' })
  cluster.lateSubscribes = 1
  cluster.moveLeader('moving', NON_PARTITIONED, 1)
  const subscribes = await cluster.waitForRequests((r) => r.body.type === 'subscribe', 2)
  const handle = subscribes[1].body.type === 'subscribe' ? subscribes[1].body.consumerId : -1
  const closing = consumer.close()
  const released = cluster.release()
  await closing
  await released
  t.equal(cluster.attachedConsumers('moving', 's'), 0, 'nothing stays attached for the closed consumer')
  t.ok(cluster.requestsOf('close-consumer').some((r) => r.body.type === 'close-consumer' && r.body.consumerId === handle), 'the late subscribe\'s handle was closed')
  const next = await client.subscribe({ topic: 'moving', subscription: 's', subscriptionType: 'Exclusive' })
  t.ok(next.isConnected(), 'a new Exclusive consumer is not refused as busy')
})
