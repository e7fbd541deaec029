// Partitioned topics and leader routing: one producer and consumer per partition, keyed
// messages by hash and keyless ones round robin, direct connections to each partition's leader
// with the bootstrap node as the fallback, and NOT_LEADER answers from a node that does not
// forward.
import t from 'tap'
import { keyHash } from '@blazar/protocol'
import { FakeCluster } from './fixtures/fake-cluster.ts'
import { startClient, text } from './fixtures/helpers.ts'

t.test('partitioned topic: routed by key hash or round robin, consumed from every partition', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('parts', 3)
  const client = await startClient(t, cluster)
  const consumer = await client.subscribe({ topic: 'parts', subscription: 's', receiverQueueSize: 100 })
  t.same(cluster.requestsOf('subscribe').map((r) => (r.body as { topic: string }).topic).sort(),
    [0, 1, 2].map((i) => `persistent://public/default/parts-partition-${i}`))
  const producer = await client.createProducer({ topic: 'parts', batchingEnabled: false })
  const keyed = await Promise.all(['a', 'b', 'c', 'a'].map((key) => producer.send({ data: key, key })))
  t.same(keyed.map((id) => id.partition), ['a', 'b', 'c', 'a'].map((key) => keyHash(key) % 3), 'a key always goes to hash % partitions')
  const keyless = await Promise.all([0, 1, 2].map((i) => producer.send({ data: `n${i}` })))
  t.same(new Set(keyless.map((id) => id.partition)).size, 3, 'three keyless messages cover the three partitions')
  const received = []
  for (let i = 0; i < 7; i++) received.push(await consumer.receive(5_000))
  t.same(received.map((m) => text(m.data)).sort(), ['a', 'a', 'b', 'c', 'n0', 'n1', 'n2'])
  for (const message of received) {
    t.equal(message.topic, `persistent://public/default/parts-partition-${message.messageId.partition}`)
    await consumer.acknowledge(message)
  }
  await consumer.flush()
  const acks = cluster.requestsOf('ack').map((r) => (r.body as { messageIds: Array<{ partition: number }> }).messageIds.map((id) => id.partition))
  t.ok(acks.every((partitions) => partitions.every((partition) => partition === partitions[0])), 'each ack request names one partition')
  t.equal(acks.length, new Set(received.map((m) => m.messageId.partition)).size, 'grouped: one ack request per partition')
  t.same(acks.flat().sort(), received.map((m) => m.messageId.partition).sort(), 'every message acknowledged on its partition')
})

t.test('a single partition can be named directly', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('direct', 2)
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'direct-partition-1' })
  t.equal((await producer.send({ data: 'x' })).partition, 1)
  t.equal(cluster.entries('direct', 1).length, 1)
})

t.test('the client connects to each partition\'s leader, and falls back to the bootstrap node', async (t) => {
  const cluster = await FakeCluster.start(t, 3)
  cluster.createTopic('spread', 2, 1)
  cluster.moveLeader('spread', 1, 2)
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'spread', batchingEnabled: false })
  const creates = cluster.requestsOf('create-producer').map((r) => [(r.body as { topic: string }).topic.slice(-1), r.node]).sort()
  t.same(creates, [['0', 1], ['1', 2]], 'each partition through its leader\'s node')
  t.same(new Set(client.connectedNodes()), new Set(cluster.nodes.map((node) => node.id)), 'one connection per node, the bootstrap one included')
  cluster.advertised.set(2, ['/ip4/127.0.0.1/tcp/1'])
  cluster.moveLeader('spread', 0, 2)
  await producer.send({ data: 'a', key: 'k0' })
  await cluster.waitForRequests((r) => r.body.type === 'create-producer', 3)
  t.equal(cluster.requestsOf('create-producer')[2].node, 2, 'an existing connection to the new leader is reused')
})

t.test('a node that does not forward answers NOT_LEADER; the client follows the lookup', async (t) => {
  const cluster = await FakeCluster.start(t, 2)
  cluster.forwarding = false
  cluster.createTopic('strict', 0, 1)
  cluster.advertised.set(1, [])
  const client = await startClient(t, cluster, { operationTimeoutMs: 600 })
  await t.rejects(client.createProducer({ topic: 'strict' }), { code: 'NOT_LEADER' }, 'the leader cannot be reached and the bootstrap node refuses')
  cluster.advertised.delete(1)
  const producer = await client.createProducer({ topic: 'strict', batchingEnabled: false })
  t.equal((await producer.send({ data: 'ok' })).index, 1)
  t.equal(cluster.requestsOf('send').at(-1)?.node, 1)
})
