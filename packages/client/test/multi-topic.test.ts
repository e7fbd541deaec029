// Consumers of several topics: a list of topics into one receiver queue with acks routed by
// each message's topic, and a regex over a namespace that picks up topics created after it
// started and drops deleted ones, on the manual clock.
import t from 'tap'
import { InvalidArgumentError, MessageId } from '@blazar/protocol'
import { DEFAULT_PATTERN_AUTO_DISCOVERY_PERIOD_MS, TopicMessageId } from '../src/index.ts'
import { parseTopicsPattern } from '../src/topic-discovery.ts'
import { FakeCluster } from './fixtures/fake-cluster.ts'
import { startClient, text } from './fixtures/helpers.ts'
import { ManualTimers } from './fixtures/manual-timers.ts'

t.test('a list of topics: one queue, every topic, acks go to the topic each message came from', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('alpha')
  cluster.createTopic('beta', 2)
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topics: ['alpha', 'beta'], subscription: 's', acknowledgementsGroupTimeMs: 0 })
  t.same(consumer.getTopics(), ['persistent://public/default/alpha', 'persistent://public/default/beta'])
  t.equal(cluster.requestsOf('subscribe').length, 3, 'one subscription per partition of each topic')
  const alpha = await client.createProducer({ topic: 'alpha' })
  const beta = await client.createProducer({ topic: 'beta' })
  await Promise.all([alpha.send({ data: 'a' }), beta.send({ data: 'b', key: 'x' })])
  const received = [await consumer.receive(5_000), await consumer.receive(5_000)]
  t.same(received.map((m) => text(m.data)).sort(), ['a', 'b'])
  for (const message of received) {
    t.ok(message.messageId instanceof TopicMessageId, 'the ID names its topic')
    await consumer.acknowledge(message.messageId)
  }
  const acks = cluster.requestsOf('ack').map((r) => r.body.type === 'ack' ? r.body.consumerId : -1)
  const subscribedAs = new Map(cluster.requestsOf('subscribe').map((r) => r.body.type === 'subscribe' ? [r.body.consumerId, r.body.topic] : [-1, '']))
  t.same(acks.map((id) => subscribedAs.get(id)).sort(), received.map((m) => m.topic).sort(), 'each ack on the consumer of the message\'s topic')
  await t.rejects(consumer.acknowledge(new MessageId(-1, 1, 0)), InvalidArgumentError, 'a bare ID is ambiguous across topics')
  await t.rejects(client.subscribe({ subscription: 's' }), InvalidArgumentError)
  await t.rejects(client.subscribe({ topic: 'alpha', topics: ['beta'], subscription: 's' }), InvalidArgumentError)
})

t.test('topicsPattern: namespaces and anchoring as Pulsar reads them', async (t) => {
  t.same(parseTopicsPattern('orders-.*').namespace, 'public/default')
  const full = parseTopicsPattern('persistent://acme/prod/orders-\\d+')
  t.equal(full.namespace, 'acme/prod')
  t.ok(full.regex.test('persistent://acme/prod/orders-17'))
  t.notOk(full.regex.test('persistent://acme/prod/orders-17-DLQ'), 'the whole name must match')
  t.notOk(full.regex.test('persistent://acme/other/orders-17'))
  t.equal(parseTopicsPattern(/acme\/prod\/x.*/).namespace, 'acme/prod')
  t.throws(() => parseTopicsPattern('acme/prod/('), InvalidArgumentError)
})

t.test('a pattern subscription discovers new topics and drops deleted ones every period', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('events-1')
  cluster.createTopic('other')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await client.subscribe({ topicsPattern: 'events-.*', subscription: 's', subscriptionInitialPosition: 'Earliest' })
  t.same(consumer.getTopics(), ['persistent://public/default/events-1'])
  cluster.createTopic('events-2')
  const lists = () => cluster.requestsOf('topics-list').length
  const before = lists()
  timers.advance(DEFAULT_PATTERN_AUTO_DISCOVERY_PERIOD_MS - 1)
  await client.admin.tenants.list()
  t.equal(lists(), before, 'not listed again before the period')
  timers.advance(1)
  await cluster.waitForRequests((r) => r.body.type === 'subscribe' && r.body.topic === 'persistent://public/default/events-2')
  while (consumer.getTopics().length < 2) await new Promise((resolve) => { setImmediate(resolve) })
  t.same(consumer.getTopics(), ['persistent://public/default/events-1', 'persistent://public/default/events-2'])
  const producer = await client.createProducer({ topic: 'events-2', batchingEnabled: false })
  await producer.send({ data: 'new topic' })
  t.equal(text((await consumer.receive()).data), 'new topic')
  await client.admin.topics.delete('events-1')
  timers.advance(DEFAULT_PATTERN_AUTO_DISCOVERY_PERIOD_MS)
  await cluster.waitForRequests((r) => r.body.type === 'close-consumer')
  while (consumer.getTopics().length > 1) await new Promise((resolve) => { setImmediate(resolve) })
  t.same(consumer.getTopics(), ['persistent://public/default/events-2'], 'the deleted topic is dropped')
  await consumer.close()
  const afterClose = lists()
  timers.advance(10 * DEFAULT_PATTERN_AUTO_DISCOVERY_PERIOD_MS)
  await client.admin.tenants.list()
  t.equal(lists(), afterClose, 'no discovery after close')
})
