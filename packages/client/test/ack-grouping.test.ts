// Ack grouping on the manual clock: acks wait acknowledgementsGroupTimeMs and leave as one
// request per type, a full group of MAX_ACK_GROUP_SIZE leaves at once, a cumulative ack
// replaces the individual acks below it, acks wait while the partition re-subscribes, and
// flush() / close() send what is left.
import t from 'tap'
import fc from 'fast-check'
import { MessageId } from '@blazar/protocol'
import { AckGroupingTracker, MAX_ACK_GROUP_SIZE, type AckType } from '../src/ack-grouping.ts'
import { FakeCluster } from './fixtures/fake-cluster.ts'
import { startClient } from './fixtures/helpers.ts'
import { ManualTimers } from './fixtures/manual-timers.ts'

function tracker (timers: ManualTimers, groupTimeMs = 100, attached = () => true) {
  const sent: Array<[AckType, number[]]> = []
  const acks = new AckGroupingTracker({
    groupTimeMs, timers, attached,
    send: async (ids, ackType) => { sent.push([ackType, ids.map((id) => id.index)]) }
  })
  return { acks, sent }
}

const id = (index: number) => new MessageId(-1, index, 0)

t.test('acks wait the group time, then leave in one request', async (t) => {
  const timers = new ManualTimers()
  const { acks, sent } = tracker(timers)
  await acks.add(id(1), 'Individual')
  await acks.add(id(2), 'Individual')
  await acks.add(id(2), 'Individual')
  timers.advance(99)
  t.same(sent, [], 'nothing before the group time')
  timers.advance(1)
  t.same(sent, [['Individual', [1, 2]]], 'one request, duplicates folded')
  t.equal(acks.pending, 0)
  t.equal(timers.scheduled, 0, 'no timer while nothing is pending')
})

t.test('a full group leaves at once, without waiting for the timer', async (t) => {
  const timers = new ManualTimers()
  const { acks, sent } = tracker(timers)
  for (let i = 1; i <= MAX_ACK_GROUP_SIZE; i++) await acks.add(id(i), 'Individual')
  t.equal(sent.length, 1)
  t.equal(sent[0][1].length, MAX_ACK_GROUP_SIZE)
  t.equal(acks.pending, 0)
})

t.test('a cumulative ack replaces the older one and the individual acks at or below it', async (t) => {
  const timers = new ManualTimers()
  const { acks, sent } = tracker(timers)
  await acks.add(id(3), 'Individual')
  await acks.add(id(5), 'Cumulative')
  await acks.add(id(4), 'Cumulative')
  await acks.add(id(2), 'Individual')
  await acks.add(id(7), 'Individual')
  t.ok(acks.has(id(1)) && acks.has(id(5)) && acks.has(id(7)) && !acks.has(id(6)))
  await acks.flush()
  t.same(sent, [['Cumulative', [5]], ['Individual', [7]]])
})

t.test('without grouping every ack is its own request and the promise waits for it', async (t) => {
  const timers = new ManualTimers()
  const { acks, sent } = tracker(timers, 0)
  await acks.add(id(1), 'Individual')
  t.same(sent, [['Individual', [1]]])
  t.equal(timers.scheduled, 0)
})

t.test('while the partition is not attached, acks stay pending and leave once it is', async (t) => {
  const timers = new ManualTimers()
  let attached = false
  const { acks, sent } = tracker(timers, 100, () => attached)
  await acks.add(id(1), 'Individual')
  timers.advance(100)
  await acks.flush()
  t.same(sent, [])
  t.equal(acks.pending, 1)
  attached = true
  timers.advance(100)
  t.same(sent, [['Individual', [1]]])
})

t.test('against a node: grouped acks are one request; flush and close send the rest', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('grouped')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await client.subscribe({ topic: 'grouped', subscription: 's' })
  const producer = await client.createProducer({ topic: 'grouped', batchingMaxMessages: 4 })
  await Promise.all([0, 1, 2, 3].map((i) => producer.send({ data: `m${i}` })))
  const received = [await consumer.receive(), await consumer.receive(), await consumer.receive(), await consumer.receive()]
  for (const message of received.slice(0, 3)) await consumer.acknowledge(message)
  await client.admin.tenants.list()
  t.equal(cluster.requestsOf('ack').length, 0, 'the acks wait for the group time')
  timers.advance(100)
  const [first] = await cluster.waitForRequests((r) => r.body.type === 'ack')
  t.same(first.body.type === 'ack' ? first.body.messageIds.map((m) => m.batchIndex) : [], [0, 1, 2], 'three acks, one request')
  await consumer.acknowledge(received[3])
  await consumer.flush()
  t.equal(cluster.requestsOf('ack').length, 2, 'flush sends the pending ack at once')
  await consumer.acknowledgeCumulative(received[3])
  await consumer.close()
  const types = cluster.requests.filter((r) => r.body.type === 'ack' || r.body.type === 'close-consumer').map((r) => r.body.type === 'ack' ? r.body.ackType : r.body.type)
  t.same(types, ['Individual', 'Individual', 'Cumulative', 'close-consumer'], 'close sends the pending ack before closing')
})

t.test('a redelivered message whose ack is still grouped is skipped; the ack leaves after the re-subscribe', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('dupes')
  const timers = new ManualTimers()
  const client = await startClient(t, cluster, { timers })
  const consumer = await client.subscribe({ topic: 'dupes', subscription: 's' })
  const producer = await client.createProducer({ topic: 'dupes', batchingEnabled: false })
  await producer.send({ data: 'acked' })
  const acked = await consumer.receive()
  await consumer.acknowledge(acked)
  cluster.moveLeader('dupes', -1, 0)
  await cluster.waitForRequests((r) => r.body.type === 'flow', 2)
  await producer.send({ data: 'next' })
  const next = await consumer.receive()
  t.equal(next.data.length, 4, 'the redelivered, already acknowledged message is skipped')
  timers.advance(100)
  const [ack] = await cluster.waitForRequests((r) => r.body.type === 'ack')
  t.same(ack.body.type === 'ack' ? ack.body.messageIds : [], [acked.messageId.toData()], 'the grouped ack survived the re-subscribe')
})

t.test('property: whatever the order of acks and flushes, the node ends up with the same acknowledged messages as without grouping', async (t) => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('Individual' as const), index: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('Cumulative' as const), index: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('flush' as const) }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 150 }) })
  )
  await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 200 }), async (ops) => {
    const acknowledged = (sent: Array<[AckType, number[]]>) => {
      let markDelete = 0
      const acked = new Set<number>()
      for (const [type, indexes] of sent) for (const index of indexes) {
        if (type === 'Cumulative') markDelete = Math.max(markDelete, index)
        else acked.add(index)
      }
      return Array.from({ length: 40 }, (_, i) => i + 1).filter((index) => index <= markDelete || acked.has(index))
    }
    const timers = new ManualTimers()
    const direct = tracker(new ManualTimers(), 0)
    const grouped = tracker(timers)
    for (const step of ops) {
      if (step.kind === 'flush') await grouped.acks.flush()
      else if (step.kind === 'tick') timers.advance(step.ms)
      else {
        await direct.acks.add(id(step.index), step.kind)
        await grouped.acks.add(id(step.index), step.kind)
      }
    }
    await grouped.acks.flush()
    if (JSON.stringify(acknowledged(grouped.sent)) !== JSON.stringify(acknowledged(direct.sent))) return false
    return grouped.sent.length <= direct.sent.length
  }), { numRuns: 300 })
  t.pass('300 random sequences')
})
