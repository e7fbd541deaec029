// Producers against the fake cluster: a send resolves only with the node's answer, batches
// follow the batching bounds, retries keep sequence ids, and failures are typed errors.
import t from 'tap'
import {
  BackpressureError, MessageTooLargeError, NotLeaderError, ProducerClosedError, TimeoutError, UnknownTopicError, decodeBatch, CompressionCodecs
} from '@blazar/protocol'
import { zlibCodec } from '../src/index.ts'
import { FakeCluster } from './fixtures/fake-cluster.ts'
import { startClient, text } from './fixtures/helpers.ts'
import { ManualTimers } from './fixtures/manual-timers.ts'

const codecs = new CompressionCodecs([zlibCodec])

t.test('a send resolves with the message ID the node assigned; fields travel in the batch', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('orders')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'orders', producerName: 'p1', batchingEnabled: false })
  t.equal(producer.getProducerName(), 'p1')
  t.equal(producer.getTopic(), 'persistent://public/default/orders')
  const first = await producer.send({ data: 'hello', key: 'k', orderingKey: Uint8Array.of(9), properties: { a: 'b' }, eventTime: 1234 })
  const second = await producer.send({ data: new Uint8Array([1, 2]) })
  t.same([first.partition, first.index, first.batchIndex], [-1, 1, 0])
  t.same([second.index, second.batchIndex], [2, 0])
  const [entry] = cluster.entries('orders')
  const [message] = decodeBatch(entry.batch, codecs)
  t.same({ payload: text(message.payload), key: message.key, orderingKey: message.orderingKey, properties: message.properties, eventTime: message.eventTime, sequenceId: message.sequenceId },
    { payload: 'hello', key: 'k', orderingKey: Uint8Array.of(9), properties: { a: 'b' }, eventTime: 1234, sequenceId: 0 })
  t.ok(message.publishTime > 0, 'the producer stamps publish_time')
  t.equal(entry.batch.producerName, 'p1')
})

t.test('batching: a full batch goes at once, the rest after the delay or on flush', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('batched')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'batched', batchingMaxMessages: 4, batchingMaxPublishDelayMs: 60_000 })
  const sends = Array.from({ length: 6 }, (_, i) => producer.send({ data: `m${i}` }))
  const firstFour = await Promise.all(sends.slice(0, 4))
  t.same(firstFour.map((id) => [id.index, id.batchIndex]), [[1, 0], [1, 1], [1, 2], [1, 3]], 'one entry, four batch indexes')
  t.equal(cluster.requestsOf('send').length, 1, 'the last two wait for the delay')
  await producer.flush()
  t.same((await Promise.all(sends.slice(4))).map((id) => [id.index, id.batchIndex]), [[2, 0], [2, 1]])
  t.same(cluster.requestsOf('send').map((r) => r.body.type === 'send' ? [r.body.batch.firstSequenceId, r.body.batch.lastSequenceId] : []), [[0, 3], [4, 5]])
  const bytes = await client.createProducer({ topic: 'batched', batchingMaxBytes: 200, batchingMaxPublishDelayMs: 60_000 })
  const both = Promise.all([bytes.send({ data: 'x'.repeat(100) }), bytes.send({ data: 'y'.repeat(100) })])
  await cluster.waitForRequests((r) => r.body.type === 'send', 3)
  t.pass('a message that would overflow batchingMaxBytes sends the open batch first')
  await bytes.flush()
  t.same((await both).map((id) => id.index), [3, 4])
})

t.test('sequenceId given by the application: used as is, later messages continue from it, a lower one is refused', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('sequenced')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'sequenced', batchingEnabled: false })
  await producer.send({ data: 'a', sequenceId: 10 })
  await producer.send({ data: 'b' })
  await t.rejects(producer.send({ data: 'c', sequenceId: 11 }), { name: 'InvalidArgumentError' }, 'not above the last one used')
  await t.rejects(producer.send({ data: 'd', sequenceId: -1 }), { name: 'InvalidArgumentError' })
  await producer.send({ data: 'e', sequenceId: 20 })
  t.same(cluster.requestsOf('send').map((r) => r.body.type === 'send' ? r.body.batch.firstSequenceId : -1), [10, 11, 20])
})

t.test('batchingMaxPublishDelayMs on a manual clock: the batch leaves exactly when the delay is up', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('timed')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const producer = await client.createProducer({ topic: 'timed', batchingMaxPublishDelayMs: 10 })
  const sends = [producer.send({ data: 'a' }), producer.send({ data: 'b' })]
  timers.advance(9)
  t.equal(cluster.requestsOf('send').length, 0, 'nothing before the delay')
  timers.advance(1)
  await cluster.waitForRequests((r) => r.body.type === 'send')
  t.same((await Promise.all(sends)).map((id) => [id.index, id.batchIndex]), [[1, 0], [1, 1]], 'both in one batch')
})

t.test('a delayed message travels alone in its batch with deliverAtTime; the others keep batching', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('delayed')
  const timers = new ManualTimers()
  timers.advance(50_000)
  const client = await startClient(t, cluster, { timers })
  const producer = await client.createProducer({ topic: 'delayed', batchingMaxPublishDelayMs: 10 })
  const sends = [
    producer.send({ data: 'a' }),
    producer.send({ data: 'later', deliverAfterMs: 5_000 }),
    producer.send({ data: 'at', deliverAt: 90_000 }),
    producer.send({ data: 'b' }),
    producer.send({ data: 'c' })
  ]
  timers.advance(10)
  await Promise.all(sends)
  const batches = cluster.entries('delayed').map((entry) => ({
    texts: decodeBatch(entry.batch, codecs).map((m) => text(m.payload)), deliverAtTime: entry.batch.deliverAtTime
  }))
  t.same(batches, [
    { texts: ['a'], deliverAtTime: undefined },
    { texts: ['later'], deliverAtTime: 55_000 },
    { texts: ['at'], deliverAtTime: 90_000 },
    { texts: ['b', 'c'], deliverAtTime: undefined }
  ])
  await t.rejects(producer.send({ data: 'x', deliverAt: 1, deliverAfterMs: 1 }), { name: 'InvalidArgumentError' })
  await t.rejects(producer.send({ data: 'x', deliverAfterMs: -1 }), { name: 'InvalidArgumentError' })
})

t.test('NOT_LEADER and OUTCOME_UNKNOWN: looked up again and resent with the same sequence ids', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('retry')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'retry', producerName: 'retrier', batchingEnabled: false })
  const lookupsBefore = cluster.requestsOf('lookup').length
  cluster.sendFaults.push('NOT_LEADER', 'OUTCOME_UNKNOWN_LOST')
  const id = await producer.send({ data: 'a' })
  t.equal(id.index, 1)
  const sends = cluster.requestsOf('send').map((r) => r.body.type === 'send' ? r.body.batch.firstSequenceId : -1)
  t.same(sends, [0, 0, 0], 'three attempts of sequence id 0')
  t.equal(cluster.requestsOf('lookup').length - lookupsBefore, 2, 'a fresh lookup before each resend')
  t.equal(cluster.requestsOf('create-producer').length, 3, 'the producer is created again before each resend')

  cluster.sendFaults.push('OUTCOME_UNKNOWN_STORED')
  const stored = await producer.send({ data: 'b' })
  t.equal(stored.index, 2, 'the batch stored before the error is answered as a duplicate with its index')
  t.equal(cluster.entries('retry').length, 2, 'and is stored once')
})

t.test('sends pipelined behind a failure are resent in order after recovery', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('ordered')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'ordered', batchingEnabled: false })
  cluster.sendFaults.push('FENCE')
  const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ data: `m${i}` })))
  t.same(ids.map((id) => id.index), [1, 2, 3, 4, 5], 'every message stored once, in send order')
  t.same(cluster.entries('ordered').map((entry) => entry.batch.firstSequenceId), [0, 1, 2, 3, 4])
})

for (const deduplication of [false, true]) {
  t.test(`a refused batch followed by accepted ones: every send is acknowledged and stored in send order (deduplication ${deduplication ? 'on' : 'off'})`, async (t) => {
    const cluster = await FakeCluster.start(t)
    cluster.deduplication = deduplication
    cluster.createTopic('gap')
    const client = await startClient(t, cluster)
    const producer = await client.createProducer({ topic: 'gap', batchingEnabled: false })
    for (const fault of ['NOT_LEADER', 'OUTCOME_UNKNOWN_LOST'] as const) {
      const before = cluster.entries('gap').length
      // The first of five pipelined batches is refused (or lost with its outcome unknown) while
      // the node would accept the four sent behind it.
      cluster.sendFaults.push(fault)
      const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ data: `${fault}-${i}` })))
      const indexes = ids.map((id) => id.index)
      t.same(indexes, [...indexes].sort((a, b) => a - b), `${fault}: message IDs follow send order`)
      const stored = cluster.entries('gap').slice(before).map((entry) => text(decodeBatch(entry.batch, codecs)[0].payload))
      t.same(stored, [0, 1, 2, 3, 4].map((i) => `${fault}-${i}`), `${fault}: stored once each, in send order`)
    }
    const chained = cluster.requestsOf('send').filter((r) => r.body.type === 'send' && r.body.previousSequenceId !== undefined)
    t.ok(chained.length > 0, 'pipelined sends name the batch before them')
  })
}

t.test('a stored batch whose outcome was lost is not resent after the batches behind it: their answer names where it is', async (t) => {
  // Chaos seed 10: the first batch was stored but its answer lost; the batches pipelined behind
  // it were stored and acknowledged; then the first was resent and (deduplication off) stored
  // again after them, and acknowledged at that later copy: acknowledged IDs out of send order.
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('lost-answer')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'lost-answer', batchingEnabled: false })
  cluster.sendFaults.push('OUTCOME_UNKNOWN_STORED')
  const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ data: `m-${i}` })))
  const stored = cluster.entries('lost-answer')
  t.same(stored.map((entry) => text(decodeBatch(entry.batch, codecs)[0].payload)), [0, 1, 2, 3, 4].map((i) => `m-${i}`), 'stored once each, in send order')
  t.same(ids.map((id) => id.index), stored.map((entry) => entry.index), 'each send reports the index it is stored at')
})

for (const deduplication of [false, true]) {
  t.test(`two stored batches in a row whose answers were lost: acknowledged IDs still follow send order (deduplication ${deduplication ? 'on' : 'off'})`, async (t) => {
    // Chaos seeds 4 and 5: the answers of the first two pipelined batches were lost, the third's
    // answer named only the second (predecessorIndex); the first was resent after the others were
    // acknowledged and, deduplication off, acknowledged at a copy stored after theirs.
    const cluster = await FakeCluster.start(t)
    cluster.deduplication = deduplication
    cluster.createTopic('lost-answers')
    const client = await startClient(t, cluster)
    const producer = await client.createProducer({ topic: 'lost-answers', batchingEnabled: false })
    cluster.sendFaults.push('OUTCOME_UNKNOWN_STORED', 'OUTCOME_UNKNOWN_STORED')
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ data: `m-${i}` })))
    const stored = cluster.entries('lost-answers').map((entry) => ({ index: entry.index, payload: text(decodeBatch(entry.batch, codecs)[0].payload) }))
    const reported = ids.map((id, i) => stored.find((entry) => entry.index === id.index && entry.payload === `m-${i}`) !== undefined)
    if (deduplication) {
      t.same(stored.map((entry) => entry.payload), [0, 1, 2, 3, 4].map((i) => `m-${i}`), 'stored once each, in send order')
      t.same(reported.slice(1), [true, true, true, true], 'the batches after the first report where they are stored')
      t.same(ids.slice(1).map((id) => id.index), [2, 3, 4, 5])
    } else {
      t.same(reported, [true, true, true, true, true], 'each send reports an index where it is stored')
      const indexes = ids.map((id) => id.index)
      t.same(indexes, [...indexes].sort((a, b) => a - b), 'acknowledged IDs follow send order')
    }
  })
}

t.test('a send that keeps failing rejects after sendTimeoutMs with the last error; a hung node with TimeoutError', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('doomed')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'doomed', batchingEnabled: false, sendTimeoutMs: 400 })
  cluster.sendFaults.push(...Array.from({ length: 1000 }, () => 'NOT_LEADER' as const))
  await t.rejects(producer.send({ data: 'x' }), NotLeaderError)
  t.equal(cluster.entries('doomed').length, 0)
  cluster.sendFaults.splice(0)
  cluster.sendFaults.push('HANG', 'HANG', 'HANG', 'HANG', 'HANG', 'HANG', 'HANG', 'HANG')
  const hung = await client.createProducer({ topic: 'doomed', batchingEnabled: false, sendTimeoutMs: 300 })
  await t.rejects(hung.send({ data: 'y' }), TimeoutError)
})

t.test('typed errors: too large (before sending), queue full, closed producer, unknown topic', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('small')
  cluster.maxMessageSize = 1000
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'small', maxPendingMessages: 2, batchingMaxPublishDelayMs: 60_000 })
  await t.rejects(producer.send({ data: new Uint8Array(2000) }), MessageTooLargeError)
  t.equal(cluster.requestsOf('send').length, 0, 'refused before anything was sent')
  const queued = [producer.send({ data: 'a' }), producer.send({ data: 'b' })]
  await t.rejects(producer.send({ data: 'c' }), BackpressureError, 'beyond maxPendingMessages')
  await producer.close()
  t.same((await Promise.all(queued)).map((id) => id.batchIndex), [0, 1], 'close flushes what was accepted')
  await t.rejects(producer.send({ data: 'd' }), ProducerClosedError)
  t.equal(cluster.requestsOf('close-producer').length, 1)
  await t.rejects(client.createProducer({ topic: 'missing' }), UnknownTopicError)
})

t.test('producer-closed push: the producer is created again and keeps sending', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('moving')
  const client = await startClient(t, cluster)
  const producer = await client.createProducer({ topic: 'moving', batchingEnabled: false })
  await producer.send({ data: 'before' })
  cluster.moveLeader('moving', -1, 0)
  await cluster.waitForRequests((r) => r.body.type === 'create-producer', 2)
  t.equal((await producer.send({ data: 'after' })).index, 2)
  t.equal(cluster.requestsOf('send').length, 2, 'no failed send was needed')
})
