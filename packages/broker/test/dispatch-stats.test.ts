// "Why is my consumer stuck": each way a consumer can be left stuck, and the reason code the
// dispatcher's stats give for it; plus permits, unacked counts and the oldest unacked message's age.
import t from 'tap'
import { SeededRandom, VirtualClock, silentLogger, type Env } from '@blazar/env'
import type { BatchEnvelope } from '@blazar/protocol'
import { exclusiveDispatcher, keySharedDispatcher, sharedDispatcher, type DispatchLimits, type DispatchPolicy, type DispatcherOptions, type SubscriptionDispatcher } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'
import { partitionCluster } from './fixtures/raft-cluster.ts'

const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

async function run (clock: VirtualClock, to: number): Promise<void> {
  await settle()
  await clock.runUntil(to)
  await settle()
}

function setup<P extends DispatchPolicy> (make: (options: DispatcherOptions) => SubscriptionDispatcher<P>, limits?: Partial<DispatchLimits>) {
  const clock = new VirtualClock()
  const env: Env = { clock, random: new SeededRandom(1), logger: silentLogger }
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Shared', initialPosition: 'Earliest' } })
  let seq = 0
  const publish = (key?: string, deliverAtTime?: number): number => {
    const envelope: BatchEnvelope = { ...batch('p', seq++, 1), ...(key === undefined ? {} : { key }), ...(deliverAtTime === undefined ? {} : { deliverAtTime }) }
    return log.publish(envelope, clock.now())
  }
  const dispatcher = make({
    env, topic: log.sm.topic, partition: 0, cursor: log.sm.cursor('s')!, source: log.sm,
    deliver: () => {},
    proposeCursor: async (update) => { log.commit({ kind: 'cursor', body: update }) },
    limits
  })
  return { clock, log, publish, dispatcher }
}

t.test('NO_CONSUMERS, then NO_PERMITS; permits, unacked and the oldest unacked message\'s age', async (t) => {
  const { clock, publish, dispatcher } = setup(exclusiveDispatcher)
  const first = publish()
  publish()
  t.equal(dispatcher.stats().reason, 'NO_CONSUMERS')
  dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
  await run(clock, 10)
  t.equal(dispatcher.stats().reason, 'NO_PERMITS', 'attached with no permits')
  t.equal(dispatcher.stats().consumers[0].reason, 'NO_PERMITS')
  dispatcher.flow(1, 1)
  await run(clock, 1_000)
  const stats = dispatcher.stats()
  t.equal(stats.reason, 'NO_PERMITS', 'one permit used, one batch still pending')
  t.equal(stats.pendingMessages, 1)
  t.match(stats.consumers[0], { permits: 0, unackedMessages: 1, active: true, oldestUnacked: { messageId: { index: first }, ageMs: 990 } })
  dispatcher.flow(1, 5)
  await run(clock, 1_010)
  t.equal(dispatcher.stats().reason, null, 'nothing pending: nothing stuck')
  t.equal(dispatcher.stats().consumers[0].reason, null)
  dispatcher.close('leadership moved')
  t.equal(dispatcher.stats().reason, 'LEADER_MOVING')
})

t.test('UNACKED_LIMIT: the consumer has permits but holds too many unacknowledged messages', async (t) => {
  const { clock, publish, dispatcher } = setup(sharedDispatcher, { maxUnackedMessagesPerConsumer: 2 })
  for (let i = 0; i < 4; i++) publish()
  dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
  dispatcher.flow(1, 100)
  await run(clock, 10)
  const stats = dispatcher.stats()
  t.equal(stats.reason, 'UNACKED_LIMIT')
  t.match(stats.consumers[0], { permits: 98, unackedMessages: 2, blockedConsumerOnUnackedMsgs: true, reason: 'UNACKED_LIMIT' })
})

t.test('UNACKED_LIMIT for the whole subscription', async (t) => {
  const { clock, publish, dispatcher } = setup(sharedDispatcher, { maxUnackedMessagesPerSubscription: 2 })
  for (let i = 0; i < 4; i++) publish()
  dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
  dispatcher.flow(1, 100)
  await run(clock, 10)
  t.equal(dispatcher.stats().reason, 'UNACKED_LIMIT')
  t.equal(dispatcher.stats().consumers[0]?.blockedConsumerOnUnackedMsgs, true, 'Pulsar blockedConsumerOnUnackedMsgs: the subscription bound blocks its consumers too')
})

t.test('KEY_BLOCKED_BY_UNACKED: a new consumer owns a key whose earlier batch another consumer still holds', async (t) => {
  const { clock, publish, dispatcher } = setup(keySharedDispatcher)
  dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
  dispatcher.flow(1, 100)
  // Keys until one moves to c2 once c2 joins (the ring decides).
  const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`)
  for (const key of keys) publish(key)
  await run(clock, 10)
  dispatcher.attach({ consumerId: 2, consumerName: 'c2' })
  dispatcher.flow(2, 100)
  const moved = keys.filter((key) => dispatcher.policy.ownerOf(key) === 2)
  t.ok(moved.length > 0, 'some keys moved to c2')
  for (const key of moved) publish(key)
  await run(clock, 20)
  const stats = dispatcher.stats()
  const c2 = stats.consumers.find((c) => c.consumerId === 2)!
  t.equal(c2.reason, 'KEY_BLOCKED_BY_UNACKED')
  t.ok(c2.blockedKeyHashCount >= 1)
  t.equal(stats.reason, 'KEY_BLOCKED_BY_UNACKED', 'nothing else can go: the subscription says why')
  t.ok(stats.redeliveryQueueMessages >= moved.length, 'the moved keys\' new batches wait')
})

t.test('ALL_DELAYED: everything left is delayed', async (t) => {
  const { clock, publish, dispatcher } = setup(sharedDispatcher)
  publish(undefined, 10_000)
  dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
  dispatcher.flow(1, 100)
  await run(clock, 10)
  t.equal(dispatcher.stats().reason, 'ALL_DELAYED')
  t.equal(dispatcher.stats().consumers[0].reason, 'ALL_DELAYED')
  t.equal(dispatcher.stats().delayedMessages, 1)
})

t.test('LEADER_MOVING and NO_CONSUMERS through the replica', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 41)
  const leader = await c.waitForLeader()
  await c.settle(leader.replica.subscribe({ subscription: 'work', type: 'Shared', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'w' } }))
  await c.settle(leader.replica.send(batch('p', 0, 1)))
  leader.replica.closeConsumer(1)
  await c.clock.runUntil(c.clock.now() + 10)
  t.equal(leader.replica.subscriptionStats('work').reason, 'NO_CONSUMERS')
  const follower = [...c.hosts.values()].find((h) => h.id !== leader.id)!
  t.equal(follower.replica.subscriptionStats('work').reason, 'LEADER_MOVING')
  for (const host of c.hosts.values()) host.node.stop()
})
