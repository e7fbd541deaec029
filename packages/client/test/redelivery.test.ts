// Redelivery on the manual clock: the ack timeout, negative acks with a backoff, the
// dead-letter topic after maxRedeliverCount (by the node's count, and by the consumer's own
// when the node's restarts at 0), and reconsumeLater through the retry topic.
import t from 'tap'
import { CompressionCodecs, InvalidArgumentError, decodeBatch, type MessageId } from '@blazar/protocol'
import { multiplierRedeliveryBackoff, type Client, type Consumer, type Message } from '../src/index.ts'
import { FakeCluster } from './fixtures/fake-cluster.ts'
import { startClient, text } from './fixtures/helpers.ts'
import { ManualTimers } from './fixtures/manual-timers.ts'

const codecs = new CompressionCodecs([])

/** Resolves once the node has seen every request sent so far on the client's one connection. */
async function roundTrip (client: Client): Promise<void> {
  await client.admin.tenants.list()
}

/** Resolves once `condition` holds, checked after each request the node records. */
async function until (cluster: FakeCluster, condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => { cluster.once('request', resolve) })
}

function redeliverRequests (cluster: FakeCluster): number {
  return cluster.requestsOf('redeliver').length
}

async function sendOne (client: Client, topic: string, data: string): Promise<MessageId> {
  const producer = await client.createProducer({ topic, batchingEnabled: false })
  const id = await producer.send({ data, key: 'k', properties: { origin: 'test' } })
  await producer.close()
  return id
}

function storedMessages (cluster: FakeCluster, topic: string) {
  return cluster.entries(topic).flatMap((entry) => decodeBatch(entry.batch, codecs).map((message) => ({ ...message, deliverAtTime: entry.batch.deliverAtTime })))
}

t.test('ack timeout: an unacknowledged message is redelivered once ackTimeoutMs has passed, an acknowledged one never', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('slow')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await client.subscribe({ topic: 'slow', subscription: 's', ackTimeoutMs: 5_000, acknowledgementsGroupTimeMs: 0 })
  await sendOne(client, 'slow', 'forgotten')
  await sendOne(client, 'slow', 'handled')
  const forgotten = await consumer.receive()
  const handled = await consumer.receive()
  await consumer.acknowledge(handled)
  timers.advance(4_999)
  await roundTrip(client)
  t.equal(redeliverRequests(cluster), 0, 'not before the timeout')
  timers.advance(1)
  const [request] = await cluster.waitForRequests((r) => r.body.type === 'redeliver')
  t.same(request.body.type === 'redeliver' ? request.body.messageIds : [], [forgotten.messageId.toData()], 'only the unacknowledged message')
  const again = await consumer.receive()
  t.equal(text(again.data), 'forgotten')
  t.equal(again.redeliveryCount, 1)
  await consumer.acknowledge(again)
  timers.advance(60_000)
  await roundTrip(client)
  t.equal(redeliverRequests(cluster), 1, 'acknowledged: never again')
  t.equal(timers.scheduled, 0, 'the tracker stops ticking when nothing is unacknowledged')
  await t.rejects(client.subscribe({ topic: 'slow', subscription: 'x', ackTimeoutMs: 10 }), InvalidArgumentError, 'below Pulsar\'s 1 s minimum')
})

t.test('negative acks back off exponentially with the redelivery count', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('flaky')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await client.subscribe({
    topic: 'flaky', subscription: 's', negativeAckRedeliveryBackoff: multiplierRedeliveryBackoff({ minDelayMs: 1_000, maxDelayMs: 3_000 })
  })
  await sendOne(client, 'flaky', 'retry me')
  const waits: number[] = []
  let message = await consumer.receive()
  for (let attempt = 0; attempt < 4; attempt++) {
    t.equal(message.redeliveryCount, attempt)
    consumer.negativeAcknowledge(message)
    const before = redeliverRequests(cluster)
    let waited = 0
    while (redeliverRequests(cluster) === before) {
      timers.advance(500)
      waited += 500
      await roundTrip(client)
    }
    waits.push(waited)
    message = await consumer.receive()
  }
  t.same(waits, [1_000, 2_000, 3_000, 3_000], 'min delay, doubled, capped at the max')
})

async function poisonConsumer (client: Client, extra: Record<string, unknown> = {}): Promise<Consumer> {
  return await client.subscribe({
    topic: 'orders', subscription: 'billing', negativeAckRedeliveryDelayMs: 1_000, acknowledgementsGroupTimeMs: 0,
    deadLetterPolicy: { maxRedeliverCount: 2, initialSubscriptionName: 'audit' }, ...extra
  })
}

async function nackUntilDeadLettered (cluster: FakeCluster, timers: ManualTimers, consumer: Consumer): Promise<Message[]> {
  const deliveries: Message[] = []
  for (;;) {
    const message = await consumer.receive()
    deliveries.push(message)
    const redelivered = redeliverRequests(cluster)
    consumer.negativeAcknowledge(message)
    timers.advance(1_000)
    await until(cluster, () => redeliverRequests(cluster) > redelivered || cluster.entries('orders-billing-DLQ').length > 0)
    if (cluster.entries('orders-billing-DLQ').length > 0) return deliveries
    if (deliveries.length > 10) throw new Error('never dead-lettered')
  }
}

t.test('a poison message goes to <topic>-<subscription>-DLQ after maxRedeliverCount redeliveries, once, with its origin', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('orders')
  cluster.createTopic('orders-billing-DLQ')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await poisonConsumer(client)
  const id = await sendOne(client, 'orders', 'poison')
  const deliveries = await nackUntilDeadLettered(cluster, timers, consumer)
  t.same(deliveries.map((m) => m.redeliveryCount), [0, 1, 2], 'delivered once and redelivered maxRedeliverCount times')
  await cluster.waitForRequests((r) => r.body.type === 'ack')
  const dead = storedMessages(cluster, 'orders-billing-DLQ')
  t.equal(dead.length, 1, 'exactly once')
  t.equal(text(dead[0].payload), 'poison')
  t.equal(dead[0].key, 'k')
  t.same(dead[0].properties, { origin: 'test', REAL_TOPIC: 'persistent://public/default/orders', ORIGIN_MESSAGE_ID: id.toString() })
  const ack = cluster.requestsOf('ack')[0].body
  t.same(ack.type === 'ack' ? ack.messageIds : [], [id.toData()], 'the original is acknowledged on its topic')
  t.ok(cluster.requestsOf('subscribe').some((r) => r.body.type === 'subscribe' && r.body.subscription === 'audit' && r.body.topic === 'persistent://public/default/orders-billing-DLQ'),
    'the initial subscription exists on the dead-letter topic before the first message')
  timers.advance(60_000)
  await roundTrip(client)
  const nothing = consumer.receive(50)
  timers.advance(50)
  await t.rejects(nothing, { name: 'TimeoutError' }, 'dead-lettered: not delivered again')
})

t.test('the consumer counts redeliveries itself when the node\'s count restarts at 0', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('orders')
  cluster.createTopic('orders-billing-DLQ')
  cluster.reportRedeliveryCounts = false
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await poisonConsumer(client)
  await sendOne(client, 'orders', 'poison')
  const deliveries = await nackUntilDeadLettered(cluster, timers, consumer)
  t.same(deliveries.map((m) => m.redeliveryCount), [0, 1, 2])
  t.equal(storedMessages(cluster, 'orders-billing-DLQ').length, 1)
})

t.test('the ack timeout also ends in the dead-letter topic', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('orders')
  cluster.createTopic('orders-billing-DLQ')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await poisonConsumer(client, { ackTimeoutMs: 1_000 })
  await sendOne(client, 'orders', 'stuck')
  for (let delivery = 0; delivery < 3; delivery++) {
    await consumer.receive()
    timers.advance(1_000)
  }
  await until(cluster, () => cluster.requestsOf('ack').length > 0)
  t.equal(storedMessages(cluster, 'orders-billing-DLQ').length, 1)
  t.equal(redeliverRequests(cluster), 2)
})

t.test('a dead letter that cannot be published is redelivered instead of lost', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('orders')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await client.subscribe({ topic: 'orders', subscription: 'billing', negativeAckRedeliveryDelayMs: 1_000, deadLetterPolicy: { maxRedeliverCount: 1 } })
  await sendOne(client, 'orders', 'poison')
  for (let i = 0; i < 2; i++) {
    consumer.negativeAcknowledge(await consumer.receive())
    timers.advance(1_000)
  }
  await until(cluster, () => cluster.requestsOf('lookup').some((r) => r.body.type === 'lookup' && r.body.topic.endsWith('-DLQ')))
  const again = await consumer.receive()
  t.equal(text(again.data), 'poison', 'no dead-letter topic: the message comes back')
  t.equal(cluster.requestsOf('ack').length, 0)
})

t.test('reconsumeLater: to the retry topic with a delivery delay, then to the dead-letter topic', async (t) => {
  const cluster = await FakeCluster.start(t)
  for (const topic of ['orders', 'orders-billing-RETRY', 'orders-billing-DLQ']) cluster.createTopic(topic)
  const timers = new ManualTimers()
  timers.advance(1_000_000)
  const client = await startClient(t, cluster, { timers })
  const consumer = await client.subscribe({ topic: 'orders', subscription: 'billing', retryEnable: true, deadLetterPolicy: { maxRedeliverCount: 2 }, acknowledgementsGroupTimeMs: 0 })
  t.same(consumer.getTopics(), ['persistent://public/default/orders', 'persistent://public/default/orders-billing-RETRY'], 'subscribed to the retry topic too')
  const id = await sendOne(client, 'orders', 'later')
  const first = await consumer.receive()
  await consumer.reconsumeLater(first, 5_000)
  const retried = storedMessages(cluster, 'orders-billing-RETRY')
  t.equal(retried.length, 1)
  t.same(retried[0].properties, {
    origin: 'test', REAL_TOPIC: 'persistent://public/default/orders', ORIGIN_MESSAGE_ID: id.toString(), RECONSUMETIMES: '1', DELAY_TIME: '5000'
  })
  t.equal(retried[0].deliverAtTime, 1_005_000, 'deliverAtTime = now + delay (the node holds it back: delayed delivery)')
  const second = await consumer.receive()
  t.equal(second.topic, 'persistent://public/default/orders-billing-RETRY')
  await consumer.reconsumeLater(second, 5_000)
  const third = await consumer.receive()
  t.equal(third.properties.RECONSUMETIMES, '2')
  t.equal(third.properties.ORIGIN_MESSAGE_ID, id.toString(), 'the first origin is kept')
  await consumer.reconsumeLater(third, 5_000)
  t.equal(storedMessages(cluster, 'orders-billing-RETRY').length, 2, 'the third reconsume goes to the dead-letter topic')
  const dead = storedMessages(cluster, 'orders-billing-DLQ')
  t.equal(dead.length, 1)
  t.equal(dead[0].properties.REAL_TOPIC, 'persistent://public/default/orders')
  t.equal(cluster.requestsOf('ack').length, 3, 'each reconsumed message is acknowledged where it was read')
  const plain = await client.subscribe({ topic: 'orders', subscription: 'other' })
  await t.rejects(plain.reconsumeLater(first, 1), InvalidArgumentError, 'only with retryEnable')
})
