import t from 'tap'
import { SeededRandom, VirtualClock, silentLogger, type Env } from '@blazar/env'
import type { DeliveredEntry } from '@blazar/protocol'
import { failoverDispatcher, type ConsumerRef } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'

const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

function setup (partition: number) {
  const clock = new VirtualClock()
  const env: Env = { clock, random: new SeededRandom(1), logger: silentLogger }
  const log = new TestPartitionLog({ partition })
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 'f', type: 'Failover', initialPosition: 'Earliest' } })
  const published = Array.from({ length: 4 }, (_, i) => log.publish(batch('p', i, 1)))
  const delivered: Array<{ consumer: number, entry: DeliveredEntry }> = []
  const changes: Array<number | null> = []
  const dispatcher = failoverDispatcher({
    env,
    topic: log.sm.topic,
    partition,
    cursor: log.sm.cursor('f')!,
    source: log.sm,
    deliver: (consumer: ConsumerRef, entries) => { for (const entry of entries) delivered.push({ consumer: consumer.consumerId, entry }) },
    proposeCursor: async (update) => { log.commit({ kind: 'cursor', body: update }) },
    activeChanged: (_consumers, active) => { changes.push(active?.consumerId ?? null) }
  })
  return { clock, log, published, delivered, changes, dispatcher }
}

t.test('non-partitioned: the first consumer is active; on its loss the next gets its unacked messages after the failover delay', async (t) => {
  const { dispatcher, delivered, changes, clock, published } = setup(-1)
  dispatcher.attach({ consumerId: 1, consumerName: 'zeta' })
  dispatcher.attach({ consumerId: 2, consumerName: 'alpha' })
  t.equal(dispatcher.policy.active?.consumerId, 1, 'first to attach, whatever its name')
  dispatcher.flow(1, 2)
  dispatcher.flow(2, 10)
  await settle()
  t.same(delivered.map((d) => [d.consumer, d.entry.messageId.index]), [[1, published[0]], [1, published[1]]], 'only the active consumer receives')
  dispatcher.acknowledge(1, [{ partition: -1, index: published[0], batchIndex: 0 }])
  dispatcher.detach(1)
  t.equal(dispatcher.policy.active?.consumerId, 2)
  t.same(changes, [1, 2])
  delivered.length = 0
  await settle()
  t.equal(delivered.length, 0, 'nothing during the failover delay')
  await clock.runUntil(clock.now() + 1_000)
  await settle()
  t.same(delivered.map((d) => [d.consumer, d.entry.messageId.index, d.entry.redeliveryCount]), [[2, published[1], 1], [2, published[2], 0], [2, published[3], 0]])
})

t.test('partition i goes to consumer i mod n in name order; a joining consumer can take over', async (t) => {
  const { dispatcher, delivered, changes, clock } = setup(1)
  dispatcher.attach({ consumerId: 1, consumerName: 'b' })
  t.equal(dispatcher.policy.active?.consumerId, 1, 'one consumer: 1 mod 1 = 0')
  dispatcher.flow(1, 1)
  await settle()
  t.equal(delivered.length, 1)
  dispatcher.attach({ consumerId: 2, consumerName: 'a' })
  t.equal(dispatcher.policy.active?.consumerId, 1, 'names a, b: partition 1 → b')
  dispatcher.attach({ consumerId: 3, consumerName: 'c' })
  t.equal(dispatcher.policy.active?.consumerId, 1, 'names a, b, c: partition 1 → b')
  dispatcher.detach(2)
  t.equal(dispatcher.policy.active?.consumerId, 3, 'names b, c: partition 1 → c')
  t.same(changes, [1, 3])
  dispatcher.flow(3, 10)
  await clock.runUntil(clock.now() + 1_000)
  await settle()
  t.same(delivered.map((d) => d.consumer), [1, 3, 3, 3, 3], 'the new active consumer gets the unacked batch again and the rest')
})

t.test('acks from a consumer that is not active are ignored', async (t) => {
  const { dispatcher, clock, log, published } = setup(-1)
  dispatcher.attach({ consumerId: 1, consumerName: 'a' })
  dispatcher.attach({ consumerId: 2, consumerName: 'b' })
  dispatcher.flow(1, 10)
  await settle()
  dispatcher.acknowledge(2, [{ partition: -1, index: published[0], batchIndex: 0 }])
  await clock.runUntil(500)
  t.equal(log.sm.cursor('f')?.markDelete, 0)
  dispatcher.close('leadership lost')
  t.equal(dispatcher.policy.active, null)
  t.equal(clock.pending(), 0)
})
