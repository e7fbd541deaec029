// @blazar/client's consumer features against a 3-process cluster: a reader that seeks by
// publish time, a poison message that ends in the dead-letter topic, a regex subscription that
// picks up a topic created after it started, and grouped acks that close flushes (the
// subscription's backlog reaches 0). Waits are bounded polls for a condition, never sleeps.
import t from 'tap'
import { Client, MessageId } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'

const decoder = new TextDecoder()
const WAIT_MS = 20_000

async function until<T> (what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('consumer features on real nodes', async (t) => {
  const cluster = await startTestCluster('client-features')
  const client = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await client.close()
    await cluster.stop()
  })

  t.test('a reader seeks by publish time', async (t) => {
    const topic = 'persistent://public/default/replay'
    await client.admin.topics.create(topic, 0)
    const producer = await client.createProducer({ topic, batchingEnabled: false })
    for (const data of ['one', 'two', 'three']) await producer.send({ data })
    const reader = await client.createReader({ topic, startMessageId: MessageId.earliest() })
    const read = [await reader.readNext(WAIT_MS), await reader.readNext(WAIT_MS), await reader.readNext(WAIT_MS)]
    t.same(read.map((m) => decoder.decode(m.data)), ['one', 'two', 'three'])
    t.ok(read[1].publishTime > read[0].publishTime || read[1].publishTime === read[0].publishTime)
    await reader.seek(read[1].publishTime)
    const next = await reader.readNext(WAIT_MS)
    t.ok(next.publishTime >= read[1].publishTime, 'nothing published before the seek time')
    t.ok(['one', 'two'].includes(decoder.decode(next.data)), 'from the first message at or after the time')
    await reader.close()
  })

  t.test('a poison message ends in the dead-letter topic, once', async (t) => {
    const topic = 'persistent://public/default/poison'
    const dlq = `${topic}-billing-DLQ`
    await client.admin.topics.create(topic, 0)
    await client.admin.topics.create(dlq, 0)
    const consumer = await client.subscribe({
      topic, subscription: 'billing', subscriptionType: 'Shared', negativeAckRedeliveryDelayMs: 100,
      deadLetterPolicy: { maxRedeliverCount: 2, initialSubscriptionName: 'audit' }
    })
    const producer = await client.createProducer({ topic, batchingEnabled: false })
    const id = await producer.send({ data: 'poison' })
    const counts: number[] = []
    const audit = await until('the dead letter', async () => {
      const delivered = await consumer.receive(200).catch(() => undefined)
      if (delivered !== undefined) {
        counts.push(delivered.redeliveryCount)
        consumer.negativeAcknowledge(delivered)
      }
      const stats = await client.admin.topics.stats(dlq)
      return stats.messagesIn > 0 ? stats : undefined
    })
    t.equal(audit.messagesIn, 1, 'exactly one message in the dead-letter topic')
    t.same(counts, [0, 1, 2], 'delivered, then redelivered maxRedeliverCount times')
    const reader = await client.subscribe({ topic: dlq, subscription: 'audit' })
    const dead = await reader.receive(WAIT_MS)
    t.equal(decoder.decode(dead.data), 'poison')
    t.same({ REAL_TOPIC: dead.properties.REAL_TOPIC, ORIGIN_MESSAGE_ID: dead.properties.ORIGIN_MESSAGE_ID }, { REAL_TOPIC: topic, ORIGIN_MESSAGE_ID: id.toString() })
    await consumer.close()
    await reader.close()
  })

  t.test('without initialSubscriptionName a poison message is dead-lettered by the broker: acknowledged and forwarded by the partition leader', async (t) => {
    const topic = 'persistent://public/default/poison-broker'
    const dlq = `${topic}-billing-DLQ`
    await client.admin.topics.create(topic, 0)
    await client.admin.topics.create(dlq, 0)
    // The dead-letter topic keeps only what a subscription waits for: subscribed before the first dead letter.
    const audit = await client.subscribe({ topic: dlq, subscription: 'audit' })
    const consumer = await client.subscribe({
      topic, subscription: 'billing', subscriptionType: 'Shared', negativeAckRedeliveryDelayMs: 100, deadLetterPolicy: { maxRedeliverCount: 2 }
    })
    const producer = await client.createProducer({ topic, batchingEnabled: false })
    const id = await producer.send({ data: 'poison', properties: { kind: 'bad' } })
    const counts: number[] = []
    const dead = await until('the dead letter', async () => {
      const delivered = await consumer.receive(200).catch(() => undefined)
      if (delivered !== undefined) {
        counts.push(delivered.redeliveryCount)
        consumer.negativeAcknowledge(delivered)
      }
      return await audit.receive(100).catch(() => undefined)
    })
    t.same(counts, [0, 1, 2], 'delivered, then redelivered maxRedeliverCount times')
    t.equal(decoder.decode(dead.data), 'poison')
    t.same(dead.properties, { kind: 'bad', REAL_TOPIC: topic, ORIGIN_MESSAGE_ID: id.toString() })
    const dlqStats = await client.admin.topics.stats(dlq)
    t.same(dlqStats.publishers?.map((p) => p.producerName), [`dlq:billing@${topic}`], 'the partition leader\'s forwarder published it, not the client')
    t.equal(dlqStats.messagesIn, 1, 'once')
    const stats = await until('the original acknowledged', async () => {
      const current = await client.admin.topics.stats(topic)
      return current.subscriptions.find((s) => s.name === 'billing')?.backlog === 0 ? current : undefined
    })
    t.ok(stats, 'the original is acknowledged by the dead-letter entry')
    await consumer.close()
    await audit.close()
  })

  t.test('a regex subscription picks up a topic created after it started', async (t) => {
    await client.admin.topics.create('persistent://public/default/rx-first', 0)
    const consumer = await client.subscribe({ topicsPattern: 'rx-.*', subscription: 'rx', subscriptionInitialPosition: 'Earliest', patternAutoDiscoveryPeriodMs: 200 })
    t.same(consumer.getTopics(), ['persistent://public/default/rx-first'])
    await client.admin.topics.create('persistent://public/default/rx-later', 2)
    await until('the new topic', async () => consumer.getTopics().length === 2 ? true : undefined)
    const producer = await client.createProducer({ topic: 'rx-later' })
    await producer.send({ data: 'found', key: 'k' })
    const message = await consumer.receive(WAIT_MS)
    t.equal(decoder.decode(message.data), 'found')
    t.match(message.topic, /^persistent:\/\/public\/default\/rx-later-partition-\d$/)
    await consumer.close()
  })

  t.test('grouped acks: close sends them, the backlog reaches 0', async (t) => {
    const topic = 'persistent://public/default/grouped'
    await client.admin.topics.create(topic, 0)
    const consumer = await client.subscribe({ topic, subscription: 'g', subscriptionInitialPosition: 'Earliest' })
    const producer = await client.createProducer({ topic })
    await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ data: `m${i}` })))
    for (let i = 0; i < 50; i++) await consumer.acknowledge(await consumer.receive(WAIT_MS))
    await consumer.close()
    const backlog = await until('backlog 0', async () => {
      const stats = await client.admin.topics.stats(topic)
      const subscription = stats.subscriptions.find((s) => s.name === 'g')
      return subscription?.backlog === 0 ? subscription : undefined
    })
    t.equal(backlog.backlog, 0)
  })
})
