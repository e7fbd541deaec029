// PartitionReplica on three real RaftNodes: the send path, Exclusive consumption with acks
// replicated as cursor entries, leader loss (consumers closed, a new leader serves the rest
// from the replicated cursor), followers answering NotLeader with a hint, and retention.
import t from 'tap'
import { StorageBackpressureError, StorageLimitError } from '@blazar/env'
import { BackpressureError, LimitExceededError, NotLeaderError, OutOfOrderSequenceError } from '@blazar/protocol'
import { batch } from './fixtures/partition-log.ts'
import { partitionCluster } from './fixtures/raft-cluster.ts'

t.test('publish, consume, fail over, resume from the replicated cursor, trim', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'])
  const leader = await c.waitForLeader()
  const follower = [...c.hosts.values()].find((h) => h.id !== leader.id)!
  await t.rejects(follower.replica.send(batch('p', 0, 1)), NotLeaderError)
  await follower.replica.send(batch('p', 0, 1)).catch((error: InstanceType<typeof NotLeaderError>) => {
    t.equal(error.details.leaderHint, leader.id, 'the follower points at the leader')
  })

  await c.settle(leader.replica.subscribe({ subscription: 'orders-sub', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'c1' } }))
  const sent: number[] = []
  for (let i = 0; i < 30; i++) {
    const result = await c.settle(leader.replica.send(batch('producer-1', i * 2, 2)))
    t.equal(result.duplicate, false)
    sent.push(result.messageId.index)
  }
  t.equal(leader.replica.lastSequenceId('producer-1'), 59)
  leader.replica.flow(1, 1_000)
  await c.clock.runUntil(c.clock.now() + 50)
  t.same(c.delivered.map((d) => d.entry.messageId.index), sent, 'every batch delivered in order')
  const acked = sent.slice(0, 20)
  leader.replica.acknowledge(1, 'Cumulative', [{ partition: 0, index: acked.at(-1)!, batchIndex: 1 }])
  await c.clock.runUntil(c.clock.now() + 500)
  for (const host of c.hosts.values()) t.equal(host.sm.cursor('orders-sub')?.markDelete, acked.at(-1), `cursor replicated on ${host.id}`)

  c.crash(leader.id)
  t.same(c.closed.map((x) => [x.node, x.consumer.consumerId]), [[leader.id, 1]], 'the consumer is told to reconnect')
  const next = await c.waitForLeader()
  t.not(next.id, leader.id)
  c.delivered.length = 0
  await c.settle(next.replica.subscribe({ subscription: 'orders-sub', type: 'Exclusive', initialPosition: 'Latest', consumer: { consumerId: 2, consumerName: 'c1' } }))
  next.replica.flow(2, 1_000)
  const more = await c.settle(next.replica.send(batch('producer-1', 60, 2)))
  await c.clock.runUntil(c.clock.now() + 50)
  t.same(c.delivered.map((d) => d.entry.messageId.index), [...sent.slice(20), more.messageId.index], 'unacknowledged batches, then the new one')

  next.replica.acknowledge(2, 'Cumulative', [{ partition: 0, index: more.messageId.index, batchIndex: 1 }])
  await c.clock.runUntil(c.clock.now() + 2_000)
  t.equal(next.sm.backlog('orders-sub'), 0)
  t.ok(next.sm.firstRetainedIndex > more.messageId.index, 'retention trimmed what every subscription acknowledged')
  for (const host of c.hosts.values()) if (!c.down.has(host.id)) t.equal(host.sm.firstRetainedIndex, next.sm.firstRetainedIndex, `trim replicated on ${host.id}`)
  for (const host of c.hosts.values()) if (!c.down.has(host.id)) host.node.stop()
})

t.test('subscription management through the replica: type conflicts, seek, unsubscribe', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 11)
  const leader = await c.waitForLeader()
  const sent: number[] = []
  for (let i = 0; i < 5; i++) sent.push((await c.settle(leader.replica.send(batch('p', i, 1)))).messageId.index)
  await c.settle(leader.replica.subscribe({ subscription: 'work', type: 'Shared', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'w1' } }))
  await c.settle(leader.replica.subscribe({ subscription: 'work', type: 'Shared', initialPosition: 'Earliest', consumer: { consumerId: 2, consumerName: 'w2' } }))
  await t.rejects(c.settle(leader.replica.subscribe({ subscription: 'work', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 3, consumerName: 'x' } })), { code: 'UNSUPPORTED_OPERATION' })
  leader.replica.flow(1, 2)
  leader.replica.flow(2, 10)
  await c.clock.runUntil(c.clock.now() + 50)
  t.equal(c.delivered.length, 5)
  t.equal(new Set(c.delivered.map((d) => d.consumer)).size, 2, 'shared over both consumers')
  c.delivered.length = 0
  await c.settle(leader.replica.seek(2, { at: 'message', index: sent[3], batchIndex: 0 }))
  leader.replica.flow(2, 10)
  await c.clock.runUntil(c.clock.now() + 50)
  t.ok(c.delivered.some((d) => d.entry.messageId.index === sent[3]), 'seek redelivers from the message')
  await c.settle(leader.replica.unsubscribe(1))
  t.equal(leader.sm.cursor('work'), undefined)
  t.same(c.closed.map((x) => x.consumer.consumerId).sort(), [1, 2], 'both consumers closed')
  for (const host of c.hosts.values()) host.node.stop()
})

t.test('a consumer closed while its subscribe waits is not attached afterwards (no zombie holding an Exclusive subscription)', async (t) => {
  const c = partitionCluster(['n1', 'n2', 'n3'])
  const leader = await c.waitForLeader()
  const pending = leader.replica.subscribe({ subscription: 'solo', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'gave-up' } })
  leader.replica.closeConsumer(1)
  await t.rejects(c.settle(pending), { code: 'CONSUMER_CLOSED' }, 'the late subscribe fails instead of attaching')
  await c.settle(leader.replica.subscribe({ subscription: 'solo', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 2, consumerName: 'next' } }))
  t.pass('the next Exclusive consumer is not refused as busy')
})

t.test('a preferred-leader hand-off refuses a batch; the batch pipelined behind it is refused too, not stored ahead of it', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 5)
  const leader = await c.waitForLeader()
  const target = [...c.hosts.values()].find((h) => h.id !== leader.id)!
  const transfer = leader.node.transferLeader(target.id)
  await t.rejects(leader.replica.send(batch('p', 0, 2)), NotLeaderError, 'the first batch meets the transfer')
  await c.settle(transfer)
  await c.waitForLeader()
  t.ok(target.replica.isLeading, 'the preferred leader took over')
  await t.rejects(c.settle(target.replica.send(batch('p', 2, 2), 1)), OutOfOrderSequenceError, 'the next batch names sequence id 1, which is not stored')
  t.equal(target.replica.lastSequenceId('p'), -1, 'nothing was stored')
  const first = await c.settle(target.replica.send(batch('p', 0, 2)))
  const second = await c.settle(target.replica.send(batch('p', 2, 2), 1))
  t.ok(first.messageId.index < second.messageId.index, 'resent in order, stored in order')
  const stored = await target.sm.read(0, { maxEntries: 10, maxBytes: 1 << 20 })
  t.same(stored.map((b) => b.envelope.firstSequenceId), [0, 2])
  t.notOk('previousSequenceId' in stored[1].envelope, 'dispatch sees the producer envelope only')
  for (const host of c.hosts.values()) host.node.stop()
})

t.test('a full storage write queue refuses a send with BACKPRESSURE (retriable); a storage limit with LIMIT_EXCEEDED', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'])
  const leader = await c.waitForLeader()
  leader.storage.refuseReservations(new StorageBackpressureError(300, 256))
  const full = await c.settle(leader.replica.send(batch('p', 0, 1)).then(() => null, (error: unknown) => error))
  t.ok(full instanceof BackpressureError, String(full))
  leader.storage.refuseReservations(new StorageLimitError('maxEntryBytes', 20, 16, 'entry'))
  const tooBig = await c.settle(leader.replica.send(batch('p', 0, 1)).then(() => null, (error: unknown) => error))
  t.ok(tooBig instanceof LimitExceededError, String(tooBig))
  leader.storage.refuseReservations(null)
  const stored = await c.settle(leader.replica.send(batch('p', 0, 1)))
  t.equal(stored.duplicate, false, 'the same batch, retried once storage has room, is stored once')
  t.equal(leader.replica.lastSequenceId('p'), 0)
  t.equal(leader.node.status().role, 'leader', 'the group kept running with its leader')
})
