// Delayed delivery on the virtual clock: Shared and Key_Shared dispatch a batch with
// `deliverAtTime` no earlier than that time (Exclusive and Failover at once, as Pulsar); a new
// leader's dispatcher rebuilds the delayed index from the log; the index is bounded and the
// leader then refuses new delayed messages with LIMIT_EXCEEDED.
import t from 'tap'
import { SeededRandom, VirtualClock, silentLogger, type Env } from '@blazar/env'
import type { BatchEnvelope, DeliveredEntry } from '@blazar/protocol'
import { exclusiveDispatcher, keySharedDispatcher, sharedDispatcher, type DispatchLimits, type DispatcherOptions, type SubscriptionDispatcher } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'
import { partitionCluster } from './fixtures/raft-cluster.ts'

const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })
/** Runs the virtual clock to `to`, letting reads (promises) settle before and after. */
async function run (clock: VirtualClock, to: number): Promise<void> {
  await settle()
  await clock.runUntil(to)
  await settle()
}

function setup (make: (options: DispatcherOptions) => SubscriptionDispatcher, limits?: Partial<DispatchLimits>) {
  const clock = new VirtualClock()
  const env: Env = { clock, random: new SeededRandom(1), logger: silentLogger }
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Shared', initialPosition: 'Earliest' } })
  const delivered: Array<{ at: number, entry: DeliveredEntry }> = []
  const open = (): SubscriptionDispatcher => make({
    env,
    topic: log.sm.topic,
    partition: 0,
    cursor: log.sm.cursor('s')!,
    source: log.sm,
    deliver: (_consumer, entries) => { for (const entry of entries) delivered.push({ at: clock.now(), entry }) },
    proposeCursor: async (update) => { log.commit({ kind: 'cursor', body: update }) },
    limits
  })
  let seq = 0
  const publish = (deliverAtTime?: number, key?: string): number => {
    const envelope: BatchEnvelope = batch('p', seq++, 1, 10, { ...(key === undefined ? {} : { key }), ...(deliverAtTime === undefined ? {} : { deliverAtTime }) })
    return log.publish(envelope, clock.now())
  }
  return { clock, log, delivered, open, publish }
}

for (const [type, make] of [['Shared', sharedDispatcher], ['Key_Shared', keySharedDispatcher]] as const) {
  t.test(`${type}: a delayed batch is dispatched at its time, never before; the others flow past it`, async (t) => {
    const { clock, delivered, open, publish } = setup(make)
    const dispatcher = open()
    dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
    dispatcher.flow(1, 100)
    const late = publish(5_000, 'k')
    const later = publish(2_000, 'k')
    const now = publish(undefined, 'k')
    await run(clock, 100)
    t.same(delivered.map((d) => d.entry.messageId.index), [now], 'only the undelayed batch, though the delayed ones share its key')
    t.equal(dispatcher.stats().delayedMessages, 2)
    await run(clock, 1_999)
    t.equal(delivered.length, 1, 'nothing before its time')
    await run(clock, 2_100)
    t.same(delivered.map((d) => [d.entry.messageId.index, d.at]), [[now, 0], [later, 2_000]], 'at its time')
    await run(clock, 6_000)
    t.same(delivered.map((d) => [d.entry.messageId.index, d.at]), [[now, 0], [later, 2_000], [late, 5_000]])
    t.ok(delivered.every((d) => d.at >= (d.entry.batch.deliverAtTime ?? 0)), 'never before deliverAtTime')
    dispatcher.close('done')
  })
}

t.test('Exclusive delivers a delayed batch at once (as Pulsar)', async (t) => {
  const { clock, delivered, open, publish } = setup(exclusiveDispatcher)
  const dispatcher = open()
  dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
  dispatcher.flow(1, 100)
  const delayed = publish(5_000)
  await run(clock, 10)
  t.same(delivered.map((d) => d.entry.messageId.index), [delayed])
  dispatcher.close('done')
})

t.test('a new leader\'s dispatcher rebuilds the delayed index from the log: not lost, not early', async (t) => {
  const { clock, delivered, open, publish } = setup(sharedDispatcher)
  const first = open()
  first.attach({ consumerId: 1, consumerName: 'c1' })
  first.flow(1, 100)
  const delayed = publish(3_000)
  await run(clock, 1_000)
  t.equal(first.stats().delayedMessages, 1)
  first.close('leadership moved')
  const second = open()
  second.attach({ consumerId: 2, consumerName: 'c2' })
  second.flow(2, 100)
  await run(clock, 2_999)
  t.equal(delivered.length, 0, 'not delivered early by the new leader')
  t.equal(second.stats().delayedMessages, 1, 'found again in the log')
  t.equal(second.stats().reason, 'ALL_DELAYED')
  await run(clock, 3_000)
  await settle()
  t.same(delivered.map((d) => [d.entry.messageId.index, d.at]), [[delayed, 3_000]])
  second.close('done')
})

t.test('the delayed index is bounded: dispatch stops at a delayed batch beyond it until one is due', async (t) => {
  const { clock, delivered, open, publish } = setup(sharedDispatcher, { maxDelayedMessages: 2 })
  const dispatcher = open()
  dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
  dispatcher.flow(1, 100)
  const d1 = publish(1_000)
  const d2 = publish(1_000)
  const d3 = publish(1_000)
  const plain = publish()
  await run(clock, 500)
  t.equal(dispatcher.delayedIndexFull, true)
  t.equal(dispatcher.stats().delayedMessages, 2, 'never more than the bound in memory')
  t.same(delivered.map((d) => d.entry.messageId.index), [])
  t.equal(dispatcher.stats().reason, 'ALL_DELAYED')
  await run(clock, 1_100)
  t.same(delivered.map((d) => d.entry.messageId.index).sort((a, b) => a - b), [d1, d2, d3, plain])
  dispatcher.close('done')
})

t.test('the leader refuses a delayed message while a subscription\'s delayed index is full (LIMIT_EXCEEDED)', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 31, { maxDelayedMessages: 1 })
  const leader = await c.waitForLeader()
  await c.settle(leader.replica.subscribe({ subscription: 'work', type: 'Shared', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'w' } }))
  leader.replica.flow(1, 10)
  const at = c.clock.now() + 60_000
  await c.settle(leader.replica.send(batch('p', 0, 1, 10, { deliverAtTime: at })))
  await c.clock.runUntil(c.clock.now() + 50)
  t.equal(leader.replica.subscriptionStats('work').delayedMessages, 1)
  await t.rejects(c.settle(leader.replica.send(batch('p', 1, 1, 10, { deliverAtTime: at }))), { code: 'LIMIT_EXCEEDED' }, 'refused: the delayed index is full')
  const plain = await c.settle(leader.replica.send(batch('p', 2, 1)))
  await c.clock.runUntil(c.clock.now() + 50)
  t.ok(c.delivered.some((d) => d.entry.messageId.index === plain.messageId.index), 'undelayed messages are still taken and delivered')
  for (const host of c.hosts.values()) host.node.stop()
})
