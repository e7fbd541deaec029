// Readers and seek against the fake cluster: a reader's non-durable subscription and its start
// (earliest, latest, a message ID inclusive or not, inside a batch), its resume point after
// the node closes it, and consumer.seek by message ID, by publish time and to the earliest.
import t from 'tap'
import { InvalidArgumentError, MessageId } from '@blazar/protocol'
import { FakeCluster } from './fixtures/fake-cluster.ts'
import { startClient, text } from './fixtures/helpers.ts'

async function publish (client: Awaited<ReturnType<typeof startClient>>, topic: string, batches: string[][]): Promise<MessageId[][]> {
  const producer = await client.createProducer({ topic })
  const ids: MessageId[][] = []
  for (const batch of batches) {
    const sends = batch.map((data) => producer.send({ data }))
    await producer.flush()
    ids.push(await Promise.all(sends))
  }
  await producer.close()
  return ids
}

async function readAll (reader: { readNext: (timeoutMs?: number) => Promise<{ data: Uint8Array }>, hasMessageAvailable: () => Promise<boolean> }, count: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < count; i++) out.push(text((await reader.readNext(5_000)).data))
  return out
}

t.test('a reader from the earliest message reads everything on a non-durable subscription', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('log')
  const client = await startClient(t, cluster)
  await publish(client, 'log', [['a', 'b'], ['c']])
  const reader = await client.createReader({ topic: 'log', startMessageId: MessageId.earliest() })
  t.same(await readAll(reader, 3), ['a', 'b', 'c'])
  const subscribe = cluster.requestsOf('subscribe')[0].body
  t.match(subscribe, { durable: false, subscriptionType: 'Exclusive', initialPosition: 'Earliest', subscription: /^reader-[0-9a-f]{10}$/ })
  t.equal(await reader.hasMessageAvailable(), false)
  await reader.close()
  t.same(cluster.subscriptionNames('log'), [], 'a closed reader leaves no subscription behind')
})

t.test('a reader from the latest message reads only what is published after it', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('tail')
  const client = await startClient(t, cluster)
  await publish(client, 'tail', [['old']])
  const reader = await client.createReader({ topic: 'tail', startMessageId: MessageId.latest() })
  await publish(client, 'tail', [['new']])
  t.same(await readAll(reader, 1), ['new'])
})

t.test('a reader from a message ID: exclusive by default, inclusive on request, inside a batch', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('mid')
  const client = await startClient(t, cluster)
  const ids = await publish(client, 'mid', [['a0', 'a1', 'a2'], ['b0']])
  const exclusive = await client.createReader({ topic: 'mid', startMessageId: ids[0][1] })
  t.same(await readAll(exclusive, 2), ['a2', 'b0'], 'after a1, within its batch')
  const subscribe = cluster.requestsOf('subscribe')[0].body
  t.match(subscribe, { startMessageId: ids[0][1].toData(), startMessageIdInclusive: false })
  const inclusive = await client.createReader({ topic: 'mid', startMessageId: ids[0][1], startMessageIdInclusive: true })
  t.same(await readAll(inclusive, 3), ['a1', 'a2', 'b0'])
  const hasNext = await inclusive.hasMessageAvailable()
  t.equal(hasNext, false)
})

t.test('a reader the node closes re-subscribes after the last message it read', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('resume')
  const client = await startClient(t, cluster)
  const ids = await publish(client, 'resume', [['a0', 'a1'], ['b0'], ['c0']])
  const reader = await client.createReader({ topic: 'resume', startMessageId: MessageId.earliest(), receiverQueueSize: 1 })
  t.same(await readAll(reader, 2), ['a0', 'a1'])
  cluster.moveLeader('resume', -1, 0)
  await cluster.waitForRequests((r) => r.body.type === 'subscribe', 2)
  t.same(await readAll(reader, 2), ['b0', 'c0'], 'no message twice, none skipped')
  const again = cluster.requestsOf('subscribe')[1].body
  t.match(again, { durable: false, startMessageId: ids[0][1].toData(), startMessageIdInclusive: false })
})

t.test('a reader of a partitioned topic starts at the earliest or latest message only', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('parted', 2)
  const client = await startClient(t, cluster)
  await t.rejects(client.createReader({ topic: 'parted', startMessageId: new MessageId(0, 1, 0) }), InvalidArgumentError)
  await t.rejects(client.createReader({ topic: 'parted', startMessageId: 'x' as unknown as MessageId }), InvalidArgumentError)
})

t.test('consumer.seek: to a message inside a batch, to a publish time, to the earliest', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('seek')
  let now = 1_000
  cluster.clock = () => now
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'seek', subscription: 's', subscriptionInitialPosition: 'Earliest' })
  const producer = await client.createProducer({ topic: 'seek' })
  const batches = [['a0', 'a1', 'a2'], ['b0'], ['c0']]
  const ids: MessageId[][] = []
  for (const batch of batches) {
    const sends = batch.map((data) => producer.send({ data }))
    await producer.flush()
    ids.push(await Promise.all(sends))
    now += 1_000
  }
  const first = []
  for (let i = 0; i < 5; i++) first.push(await consumer.receive(5_000))
  for (const message of first) await consumer.acknowledge(message)
  await consumer.seek(ids[0][1])
  t.same(cluster.requestsOf('seek').map((r) => r.body.type === 'seek' ? r.body.position : undefined), [{ at: 'message', index: ids[0][1].index, batchIndex: 1 }])
  const fromMessage = []
  for (let i = 0; i < 4; i++) fromMessage.push(text((await consumer.receive(5_000)).data))
  t.same(fromMessage, ['a1', 'a2', 'b0', 'c0'], 'from the message itself (inclusive), acknowledged or not')
  await consumer.seek(2_000)
  const fromTime = []
  for (let i = 0; i < 2; i++) fromTime.push(text((await consumer.receive(5_000)).data))
  t.same(fromTime, ['b0', 'c0'], 'from the first message published at or after the time')
  await consumer.seek(MessageId.earliest())
  t.equal(text((await consumer.receive(5_000)).data), 'a0')
  await t.rejects(consumer.seek(-1), InvalidArgumentError)
})

t.test('hasMessageAvailable asks the node for the last message ID: a stored message not pushed yet counts', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('peek')
  cluster.createTopic('void')
  const client = await startClient(t, cluster)
  const empty = await client.createReader({ topic: 'void', startMessageId: MessageId.earliest() })
  t.equal(await empty.hasMessageAvailable(), false, 'an empty topic')
  const ids = await publish(client, 'peek', [['a'], ['b']])
  const reader = await client.createReader({ topic: 'peek', startMessageId: MessageId.earliest() })
  t.same(await readAll(reader, 2), ['a', 'b'])
  t.equal(await reader.hasMessageAvailable(), false, 'everything read')
  // A batch the node holds but has not pushed (as when the reader has no permits left).
  const entries = cluster.entries('peek')
  const last = entries[entries.length - 1]
  entries.push({ ...last, index: last.index + 1 })
  const asked = cluster.requestsOf('get-last-message-id').length
  t.equal(await reader.hasMessageAvailable(), true, 'the node holds a message beyond the last one read')
  t.equal(cluster.requestsOf('get-last-message-id').length, asked + 1, 'asked the node')
  entries.pop()
  const after = await client.createReader({ topic: 'peek', startMessageId: ids[1][0] })
  t.equal(await after.hasMessageAvailable(), false, 'nothing after the last message (start exclusive)')
  const at = await client.createReader({ topic: 'peek', startMessageId: ids[1][0], startMessageIdInclusive: true })
  t.equal(await at.hasMessageAvailable(), true, 'the last message itself (start inclusive)')
  const tail = await client.createReader({ topic: 'peek', startMessageId: MessageId.latest() })
  t.equal(await tail.hasMessageAvailable(), false, 'a reader from the latest message')
  await publish(client, 'peek', [['c']])
  t.equal(await tail.hasMessageAvailable(), true, 'until a message is published')
})
