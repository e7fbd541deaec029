import t from 'tap'
import fc from 'fast-check'
import { SeededRandom, VirtualClock, silentLogger, type Env } from '@blazar/env'
import { UnsupportedOperationError, type DeliveredEntry } from '@blazar/protocol'
import { sharedDispatcher, type ConsumerRef, type DispatchLimits, type SubscriptionDispatcher } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'

const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

function setup (options: { batches?: number, limits?: Partial<DispatchLimits> } = {}) {
  const clock = new VirtualClock()
  const env: Env = { clock, random: new SeededRandom(1), logger: silentLogger }
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 'work', type: 'Shared', initialPosition: 'Earliest' } })
  let seq = 0
  const publish = (): number => log.publish(batch('p', seq++, 1))
  const published = Array.from({ length: options.batches ?? 6 }, publish)
  const delivered: Array<{ consumer: number, entry: DeliveredEntry }> = []
  const makeDispatcher = (): SubscriptionDispatcher => sharedDispatcher({
    env,
    topic: log.sm.topic,
    partition: 0,
    cursor: log.sm.cursor('work')!,
    source: log.sm,
    deliver: (consumer: ConsumerRef, entries) => { for (const entry of entries) delivered.push({ consumer: consumer.consumerId, entry }) },
    proposeCursor: async (update) => { log.commit({ kind: 'cursor', body: update }) },
    limits: options.limits
  })
  return { clock, log, publish, published, delivered, makeDispatcher, dispatcher: makeDispatcher() }
}

const ack = (index: number) => [{ partition: 0, index, batchIndex: 0 }]

t.test('batches are spread round-robin over consumers with permits', async (t) => {
  const { dispatcher, delivered, published } = setup({ limits: { roundRobinBatchSize: 2 } })
  dispatcher.attach({ consumerId: 1, consumerName: 'a' })
  dispatcher.attach({ consumerId: 2, consumerName: 'b' })
  t.equal(dispatcher.state, 'consuming')
  t.same(dispatcher.consumers.map((c) => c.consumerId), [1, 2])
  dispatcher.flow(1, 10)
  dispatcher.flow(2, 10)
  await settle()
  const of = (consumer: number) => delivered.filter((d) => d.consumer === consumer).map((d) => d.entry.messageId.index)
  t.same(of(1), [published[0], published[1], published[4], published[5]], 'turns of 2 batches: consumer 1 first')
  t.same(of(2), [published[2], published[3]])
})

t.test('a consumer without permits is skipped; cumulative acks are refused', async (t) => {
  const { dispatcher, delivered } = setup()
  dispatcher.attach({ consumerId: 1, consumerName: 'a' })
  dispatcher.attach({ consumerId: 2, consumerName: 'b' })
  dispatcher.flow(2, 3)
  await settle()
  t.same(delivered.map((d) => d.consumer), [2, 2, 2])
  t.throws(() => dispatcher.acknowledgeCumulative(2, { partition: 0, index: 1, batchIndex: 0 }), UnsupportedOperationError)
})

t.test('a departing consumer\'s unacknowledged batches go to the others first, with a redelivery count', async (t) => {
  const { dispatcher, delivered, published, clock, log } = setup()
  dispatcher.attach({ consumerId: 1, consumerName: 'a' })
  dispatcher.attach({ consumerId: 2, consumerName: 'b' })
  dispatcher.flow(1, 3)
  await settle()
  dispatcher.acknowledge(1, ack(published[1]))
  dispatcher.detach(1)
  delivered.length = 0
  dispatcher.flow(2, 10)
  await settle()
  t.same(delivered.map((d) => [d.consumer, d.entry.messageId.index, d.entry.redeliveryCount]), [
    [2, published[0], 1], [2, published[2], 1], [2, published[3], 0], [2, published[4], 0], [2, published[5], 0]
  ])
  for (const d of delivered) dispatcher.acknowledge(2, ack(d.entry.messageId.index))
  await clock.runUntil(100)
  t.equal(log.sm.backlog('work'), 0)
  t.equal(log.sm.cursor('work')?.markDelete, published[5])
})

t.test('negative ack of specific messages redelivers just those batches', async (t) => {
  const { dispatcher, delivered, published } = setup()
  dispatcher.attach({ consumerId: 1, consumerName: 'a' })
  dispatcher.flow(1, 6)
  await settle()
  delivered.length = 0
  dispatcher.redeliverUnacknowledged(1, [{ partition: 0, index: published[4], batchIndex: 0 }, { partition: 0, index: published[1], batchIndex: 0 }])
  dispatcher.flow(1, 10)
  await settle()
  t.same(delivered.map((d) => [d.entry.messageId.index, d.entry.redeliveryCount]), [[published[1], 1], [published[4], 1]])
})

t.test('the subscription-wide unacked bound pauses dispatch until half of it is acknowledged', async (t) => {
  const { dispatcher, delivered, published } = setup({ limits: { maxUnackedMessagesPerSubscription: 4 } })
  dispatcher.attach({ consumerId: 1, consumerName: 'a' })
  dispatcher.flow(1, 100)
  await settle()
  t.equal(delivered.length, 4)
  dispatcher.acknowledge(1, ack(published[0]))
  await settle()
  t.equal(delivered.length, 4, 'still above half')
  dispatcher.acknowledge(1, ack(published[1]))
  await settle()
  t.equal(delivered.length, 6)
})

t.test('property: many consumers, churn, nacks and leader changes: a batch is never outstanding at two consumers, and all end acknowledged', async () => {
  const op = fc.oneof(
    fc.constant({ type: 'publish' as const }),
    fc.record({ type: fc.constant('attach' as const) }),
    fc.record({ type: fc.constant('flow' as const), who: fc.nat(), permits: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ type: fc.constant('ack' as const), pick: fc.nat() }),
    fc.record({ type: fc.constant('nack' as const), pick: fc.nat() }),
    fc.record({ type: fc.constant('detach' as const), who: fc.nat() }),
    fc.constant({ type: 'leader-change' as const }),
    fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 250 }) })
  )
  await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
    const env = setup({ batches: 3, limits: { roundRobinBatchSize: 2 } })
    let dispatcher = env.dispatcher
    let nextId = 1
    let consumers: number[] = []
    const outstanding = new Map<number, number>()
    let violated = false
    const seen = env.delivered.length
    let cursorSeen = seen
    const observe = (): void => {
      for (const { consumer, entry } of env.delivered.slice(cursorSeen)) {
        if (outstanding.has(entry.messageId.index)) violated = true
        outstanding.set(entry.messageId.index, consumer)
      }
      cursorSeen = env.delivered.length
    }
    const attach = (): void => { dispatcher.attach({ consumerId: nextId, consumerName: `c${nextId}` }); consumers.push(nextId++) }
    attach()
    for (const o of ops) {
      if (o.type === 'publish') env.publish()
      if (o.type === 'attach') attach()
      if (o.type === 'flow' && consumers.length > 0) dispatcher.flow(consumers[o.who % consumers.length], o.permits)
      if ((o.type === 'ack' || o.type === 'nack') && outstanding.size > 0) {
        const [index, consumer] = [...outstanding][o.pick % outstanding.size]
        outstanding.delete(index)
        if (o.type === 'ack') dispatcher.acknowledge(consumer, ack(index))
        else dispatcher.redeliverUnacknowledged(consumer, ack(index))
      }
      if (o.type === 'detach' && consumers.length > 0) {
        const who = consumers[o.who % consumers.length]
        dispatcher.detach(who)
        consumers = consumers.filter((c) => c !== who)
        for (const [index, consumer] of [...outstanding]) if (consumer === who) outstanding.delete(index)
      }
      if (o.type === 'leader-change') {
        dispatcher.close('leader change')
        dispatcher = env.makeDispatcher()
        consumers = []
        outstanding.clear()
        attach()
      }
      if (o.type === 'tick') await env.clock.runUntil(env.clock.now() + o.ms)
      await settle()
      observe()
      if (violated) return false
    }
    if (consumers.length === 0) attach()
    for (let round = 0; round < 60 && env.log.sm.backlog('work') > 0; round++) {
      for (const [index, consumer] of [...outstanding]) {
        dispatcher.acknowledge(consumer, ack(index))
        outstanding.delete(index)
      }
      for (const c of consumers) dispatcher.flow(c, 1_000)
      await settle()
      observe()
      await env.clock.runUntil(env.clock.now() + 250)
      await settle()
      observe()
    }
    return !violated && env.log.sm.backlog('work') === 0
  }), { numRuns: 60 })
})
