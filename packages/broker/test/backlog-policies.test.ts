// Message TTL and backlog quotas on three real RaftNodes on the virtual clock: TTL acknowledges
// what is older than it on every subscription (keeping acknowledgements above, not delivered
// again), and each of Pulsar's quota policies: producer_exception refuses sends with a typed
// error, producer_request_hold holds them in order until the backlog is under the quota (or
// fails them after the hold time), consumer_backlog_eviction acknowledges the slowest cursors'
// oldest backlog by size and by age. Every cursor move is replicated.
import t from 'tap'
import { DEFAULT_PARTITION_CONFIG, ProducerBlockedQuotaExceededError, ProducerHeldQuotaExceededError, encodePartitionEntry, type PartitionConfig } from '@blazar/protocol'
import { BACKLOG_EVICTION_TARGET } from '../src/index.ts'
import { batch } from './fixtures/partition-log.ts'
import { partitionCluster, type Host } from './fixtures/raft-cluster.ts'

type Cluster = ReturnType<typeof partitionCluster>

async function configure (c: Cluster, leader: Host, config: Partial<PartitionConfig>): Promise<void> {
  const { kind, data } = encodePartitionEntry({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, ...config } })
  await c.settle(leader.node.propose(data, kind))
  await c.clock.runUntil(c.clock.now() + 50)
}

async function createSubscription (c: Cluster, leader: Host, subscription: string): Promise<void> {
  await c.settle(leader.replica.createSubscription(subscription, { at: 'earliest' }))
}

function live (c: Cluster): Host[] {
  return [...c.hosts.values()].filter((h) => !c.down.has(h.id))
}

function stopAll (c: Cluster): void {
  for (const host of live(c)) host.node.stop()
}

t.test('message TTL acknowledges on every subscription what is older than the TTL, and only that', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 3, undefined, { messageExpiryCheckIntervalMs: 10_000 })
  const leader = await c.waitForLeader()
  await createSubscription(c, leader, 'idle')
  await c.settle(leader.replica.subscribe({ subscription: 'live', type: 'Shared', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'c1' } }))
  const old: number[] = []
  for (let i = 0; i < 3; i++) old.push((await c.settle(leader.replica.send(batch('p', i, 2)))).messageId.index)
  await c.clock.runUntil(c.clock.now() + 40_000)
  const fresh: number[] = []
  for (let i = 3; i < 5; i++) fresh.push((await c.settle(leader.replica.send(batch('p', i, 2)))).messageId.index)
  // The live consumer holds everything; it acknowledges one fresh batch individually.
  leader.replica.flow(1, 100)
  await c.clock.runUntil(c.clock.now() + 50)
  leader.replica.acknowledge(1, 'Individual', [{ partition: 0, index: fresh[1], batchIndex: 0 }, { partition: 0, index: fresh[1], batchIndex: 1 }])
  await c.clock.runUntil(c.clock.now() + 500)
  t.equal(leader.sm.cursor('idle')?.markDelete, 0, 'no TTL: nothing expires')

  await configure(c, leader, { messageTTLSeconds: 30 })
  await c.clock.runUntil(c.clock.now() + 10_000)
  for (const host of live(c)) {
    t.equal(host.sm.cursor('idle')?.markDelete, old.at(-1), `${host.id}: the idle subscription acknowledged the expired batches`)
    t.equal(host.sm.cursor('live')?.markDelete, old.at(-1), `${host.id}: so did the live one`)
    t.same(host.sm.cursor('live')?.ackedRanges, [[fresh[1], fresh[1]]], `${host.id}: the individual ack above stays`)
  }
  t.equal(leader.sm.backlog('idle'), 4, 'the fresh messages are still in the backlog')
  t.equal(leader.replica.subscriptionStats('live').unackedMessages, 2, 'the live consumer no longer holds the expired batches')
  c.delivered.length = 0
  leader.replica.redeliver(1)
  await c.clock.runUntil(c.clock.now() + 50)
  t.same(c.delivered.map((d) => d.entry.messageId.index), [fresh[0]], 'a redelivery brings only the unexpired, unacknowledged batch')

  await c.clock.runUntil(c.clock.now() + 30_000)
  t.equal(leader.sm.backlog('idle'), 0, 'later, the fresh batches expire too')
  stopAll(c)
})

t.test('producer_exception: sends over the quota are refused with a typed error until the backlog is under it', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 5)
  const leader = await c.waitForLeader()
  await createSubscription(c, leader, 'slow')
  await configure(c, leader, { backlogQuotas: { destination_storage: { limitSize: 1_000, limitTime: -1, policy: 'producer_exception' } } })
  let sequence = 0
  while (leader.sm.bytesAfter(0) <= 1_000) await c.settle(leader.replica.send(batch('p', sequence++, 1, 200)))
  const stored = leader.sm.stats().retainedMessages
  const refused = await c.settle(leader.replica.send(batch('p', sequence, 1, 200))).catch((error: unknown) => error)
  t.ok(refused instanceof ProducerBlockedQuotaExceededError, 'refused with ProducerBlockedQuotaExceededError')
  t.match((refused as InstanceType<typeof ProducerBlockedQuotaExceededError>).details, { quota: 'destination_storage', limit: 1_000 })
  t.equal(leader.sm.stats().retainedMessages, stored, 'nothing stored')
  t.throws(() => { leader.replica.admitProducer() }, ProducerBlockedQuotaExceededError, 'a new producer is refused too (Pulsar refuses it at creation)')
  await c.settle(leader.replica.moveSubscription('slow', { to: 'skip-all' }))
  t.doesNotThrow(() => { leader.replica.admitProducer() })
  const accepted = await c.settle(leader.replica.send(batch('p', sequence, 1, 200)))
  t.equal(accepted.duplicate, false, 'accepted once the backlog is under the quota')
  stopAll(c)
})

t.test('producer_request_hold: sends wait in order until the backlog is under the quota, or fail after the hold time', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 9, undefined, { backlogQuotaHoldMs: 5_000 })
  const leader = await c.waitForLeader()
  await c.settle(leader.replica.subscribe({ subscription: 'slow', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'c1' } }))
  await configure(c, leader, { backlogQuotas: { message_age: { limitSize: -1, limitTime: 10, policy: 'producer_request_hold' } } })
  await c.settle(leader.replica.send(batch('p', 0, 1)))
  await c.clock.runUntil(c.clock.now() + 11_000)

  const outcomes: string[] = []
  const first = leader.replica.send(batch('p', 1, 1)).then((r) => { outcomes.push(`first ${r.messageId.index}`) }, (e: unknown) => { outcomes.push(`first ${String(e)}`) })
  const second = leader.replica.send(batch('p', 2, 1)).then((r) => { outcomes.push(`second ${r.messageId.index}`) }, (e: unknown) => { outcomes.push(`second ${String(e)}`) })
  await c.clock.runUntil(c.clock.now() + 2_000)
  t.same(outcomes, [], 'both sends are held while the oldest unacknowledged message is over 10 s old')
  t.equal(leader.sm.stats().retainedMessages, 1, 'nothing stored while held')
  leader.replica.flow(1, 10)
  await c.clock.runUntil(c.clock.now() + 50)
  leader.replica.acknowledge(1, 'Cumulative', [{ partition: 0, index: c.delivered[0].entry.messageId.index, batchIndex: 0 }])
  await c.settle(Promise.all([first, second]))
  t.equal(outcomes.length, 2)
  t.match(outcomes[0], /^first \d+$/, 'released once the acknowledgement is replicated')
  const [firstIndex, secondIndex] = outcomes.map((o) => Number(o.split(' ')[1]))
  t.ok(firstIndex < secondIndex, 'released in send order')

  await c.clock.runUntil(c.clock.now() + 11_000)
  const held = leader.replica.send(batch('p', 3, 1)).catch((error: unknown) => error)
  await c.clock.runUntil(c.clock.now() + 5_100)
  t.ok(await held instanceof ProducerHeldQuotaExceededError, 'a send never released fails with ProducerHeldQuotaExceededError after the hold time')

  const orphan = leader.replica.send(batch('p', 3, 1)).catch((error: unknown) => error)
  await c.clock.runUntil(c.clock.now() + 100)
  c.crash(leader.id)
  t.match(await orphan, { code: 'NOT_LEADER' }, 'a held send fails with NOT_LEADER when leadership goes (the client resends to the new leader)')
  stopAll(c)
})

t.test('consumer_backlog_eviction by size acknowledges the slowest cursors oldest backlog down to 90% of the quota', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 13, undefined, { backlogQuotaCheckIntervalMs: 1_000 })
  const leader = await c.waitForLeader()
  await createSubscription(c, leader, 'slow')
  await createSubscription(c, leader, 'slower')
  const limit = 2_000
  const batchBytes = batch('p', 0, 1, 200).body.length
  await configure(c, leader, { backlogQuotas: { destination_storage: { limitSize: limit, limitTime: -1, policy: 'consumer_backlog_eviction' } } })
  const ids: number[] = []
  for (let i = 0; i < 20; i++) ids.push((await c.settle(leader.replica.send(batch('p', i, 1, 200)))).messageId.index)
  await c.settle(leader.replica.moveSubscription('slow', { to: 'skip', messages: 15 }))
  t.ok(leader.sm.bytesAfter(0) > limit, 'over the quota')
  await c.clock.runUntil(c.clock.now() + 1_500)
  for (const host of live(c)) {
    const slower = host.sm.cursor('slower')!.markDelete
    t.ok(host.sm.bytesAfter(slower) <= limit * BACKLOG_EVICTION_TARGET, `${host.id}: the slowest backlog is within 90% of the quota`)
    t.ok(host.sm.bytesAfter(slower) + batchBytes > limit * BACKLOG_EVICTION_TARGET, `${host.id}: and no more was evicted than needed`)
    t.equal(host.sm.cursor('slow')?.markDelete, ids[14], `${host.id}: a cursor already past that point stays`)
  }
  stopAll(c)
})

t.test('consumer_backlog_eviction by age acknowledges what is older than the limit', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 17, undefined, { backlogQuotaCheckIntervalMs: 1_000 })
  const leader = await c.waitForLeader()
  await createSubscription(c, leader, 'slow')
  await configure(c, leader, { backlogQuotas: { message_age: { limitSize: -1, limitTime: 20, policy: 'consumer_backlog_eviction' } } })
  const old = (await c.settle(leader.replica.send(batch('p', 0, 1)))).messageId.index
  await c.clock.runUntil(c.clock.now() + 15_000)
  await c.settle(leader.replica.send(batch('p', 1, 1)))
  await c.clock.runUntil(c.clock.now() + 7_000)
  for (const host of live(c)) t.equal(host.sm.cursor('slow')?.markDelete, old, `${host.id}: the batch over 20 s old was evicted, the newer one kept`)
  t.equal(leader.sm.backlog('slow'), 1)
  stopAll(c)
})
