import t from 'tap'
import fc from 'fast-check'
import { SeededRandom, VirtualClock, silentLogger, type Env } from '@blazar/env'
import { ConsumerBusyError, type DeliveredEntry } from '@blazar/protocol'
import { exclusiveDispatcher, type DispatchLimits, type SingleActivePolicy, type SubscriptionDispatcher } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'

const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

/** A partition with subscription `s` (Earliest), a virtual clock and a dispatcher whose cursor proposals commit to the log. */
function setup (options: { batches?: number, size?: number, limits?: Partial<DispatchLimits> } = {}) {
  const clock = new VirtualClock()
  const env: Env = { clock, random: new SeededRandom(1), logger: silentLogger }
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } })
  let seq = 0
  const publish = (): number => {
    const index = log.publish(batch('p', seq, options.size ?? 2))
    seq += options.size ?? 2
    return index
  }
  const published = Array.from({ length: options.batches ?? 5 }, publish)
  const delivered: DeliveredEntry[] = []
  const proposals: number[] = []
  const makeDispatcher = (): SubscriptionDispatcher<SingleActivePolicy> => exclusiveDispatcher({
    env,
    topic: log.sm.topic,
    partition: 0,
    cursor: log.sm.cursor('s')!,
    source: log.sm,
    deliver: (_consumer, entries) => { delivered.push(...entries) },
    proposeCursor: async (update) => { proposals.push(log.commit({ kind: 'cursor', body: update })) },
    limits: options.limits
  })
  return { clock, log, publish, published, delivered, proposals, makeDispatcher, dispatcher: makeDispatcher() }
}

const consumer = { consumerId: 1, consumerName: 'c1' }

t.test('flow permits bound delivery; whole batches are sent while permits remain', async (t) => {
  const { dispatcher, delivered, published } = setup()
  dispatcher.attach(consumer)
  await settle()
  t.equal(delivered.length, 0, 'no permits, nothing sent')
  dispatcher.flow(1, 3)
  await settle()
  t.same(delivered.map((d) => d.messageId.index), published.slice(0, 2), 'batch of 2 + batch of 2 for 3 permits')
  t.equal(dispatcher.permitsOf(1), -1)
  dispatcher.flow(1, 1)
  await settle()
  t.equal(delivered.length, 2, 'permits still not positive')
  dispatcher.flow(1, 100)
  await settle()
  t.same(delivered.map((d) => d.messageId.index), published)
  t.equal(dispatcher.unackedMessages, 10)
})

t.test('new commits wake a waiting consumer', async (t) => {
  const { dispatcher, delivered, publish } = setup({ batches: 0 })
  dispatcher.attach(consumer)
  dispatcher.flow(1, 10)
  await settle()
  t.equal(delivered.length, 0)
  const index = publish()
  await settle()
  t.same(delivered.map((d) => d.messageId.index), [index])
  const more = [publish(), publish()]
  await settle()
  t.same(delivered.map((d) => d.messageId.index), [index, ...more])
})

t.test('Exclusive: a second consumer is refused; after the first leaves, another may attach', async (t) => {
  const { dispatcher } = setup()
  dispatcher.attach(consumer)
  t.throws(() => dispatcher.attach({ consumerId: 2, consumerName: 'c2' }), ConsumerBusyError)
  dispatcher.detach(2)
  t.equal(dispatcher.state, 'consuming', 'detaching a stranger changes nothing')
  dispatcher.detach(1)
  t.equal(dispatcher.state, 'noConsumer')
  dispatcher.attach({ consumerId: 2, consumerName: 'c2' })
  t.equal(dispatcher.policy.active?.consumerId, 2)
})

t.test('acks are proposed in batches after the flush interval; a batch counts once all its messages are acked', async (t) => {
  const { dispatcher, delivered, log, clock, proposals, published } = setup()
  dispatcher.attach(consumer)
  dispatcher.flow(1, 100)
  await settle()
  dispatcher.acknowledge(1, [{ partition: 0, index: published[0], batchIndex: 0 }])
  dispatcher.acknowledge(1, [{ partition: 0, index: published[1], batchIndex: 0 }, { partition: 0, index: published[1], batchIndex: 1 }])
  t.equal(proposals.length, 0, 'nothing proposed before the interval')
  await clock.runUntil(100)
  t.equal(proposals.length, 1, 'one proposal for both acks')
  t.same(log.sm.cursor('s'), { subscription: 's', type: 'Exclusive', generation: 0, markDelete: 0, ackedRanges: [[published[1], published[1]]], batchAcks: [[published[0], [0]]] }, 'batch 1 is only half acked: its acked message is a batch-index ack')
  dispatcher.acknowledge(1, [{ partition: 0, index: published[0], batchIndex: 1 }])
  await clock.runUntil(200)
  t.equal(log.sm.cursor('s')?.markDelete, published[1], 'the hole closed, mark-delete advanced over both')
  t.equal(delivered.length, 5)
  await clock.runUntil(1_000)
  t.equal(proposals.length, 2, 'no proposal when nothing changed')
})

t.test('cumulative ack acknowledges everything up to the message; a half-acked batch stays', async (t) => {
  const { dispatcher, log, clock, published } = setup()
  dispatcher.attach(consumer)
  dispatcher.flow(1, 100)
  await settle()
  dispatcher.acknowledgeCumulative(1, { partition: 0, index: published[2], batchIndex: 0 })
  await clock.runUntil(100)
  t.equal(log.sm.cursor('s')?.markDelete, published[1])
  t.equal(dispatcher.unackedMessages, 6)
  dispatcher.acknowledgeCumulative(1, { partition: 0, index: published[2], batchIndex: 1 })
  await clock.runUntil(200)
  t.equal(log.sm.cursor('s')?.markDelete, published[2])
  dispatcher.acknowledgeCumulative(1, { partition: 0, index: 10_000, batchIndex: 0 })
  await clock.runUntil(300)
  t.equal(log.sm.cursor('s')?.markDelete, published[4], 'never beyond what was delivered')
})

t.test('consumer loss: unacked batches (even half-acked ones) are redelivered whole to the next consumer, with a redelivery count', async (t) => {
  const { dispatcher, delivered, published } = setup()
  dispatcher.attach(consumer)
  dispatcher.flow(1, 4)
  await settle()
  dispatcher.acknowledge(1, [{ partition: 0, index: published[0], batchIndex: 0 }, { partition: 0, index: published[0], batchIndex: 1 }])
  dispatcher.acknowledge(1, [{ partition: 0, index: published[1], batchIndex: 0 }])
  dispatcher.detach(1)
  delivered.length = 0
  dispatcher.attach({ consumerId: 2, consumerName: 'c2' })
  dispatcher.flow(2, 100)
  await settle()
  t.same(delivered.map((d) => [d.messageId.index, d.redeliveryCount]), [[published[1], 1], [published[2], 0], [published[3], 0], [published[4], 0]])
  dispatcher.redeliverUnacknowledged(2)
  delivered.length = 0
  dispatcher.flow(2, 100)
  await settle()
  t.same(delivered.map((d) => [d.messageId.index, d.redeliveryCount]), [[published[1], 2], [published[2], 1], [published[3], 1], [published[4], 1]])
})

t.test('a new leader resumes from the replicated cursor, ack holes included', async (t) => {
  const { dispatcher, delivered, clock, published, makeDispatcher } = setup()
  dispatcher.attach(consumer)
  dispatcher.flow(1, 100)
  await settle()
  dispatcher.acknowledge(1, [0, 1].map((b) => ({ partition: 0, index: published[0], batchIndex: b })))
  dispatcher.acknowledge(1, [0, 1].map((b) => ({ partition: 0, index: published[2], batchIndex: b })))
  await clock.runUntil(100)
  dispatcher.close('leadership lost')
  t.equal(dispatcher.state, 'closed')
  delivered.length = 0
  const next = makeDispatcher()
  next.attach(consumer)
  next.flow(1, 100)
  await settle()
  t.same(delivered.map((d) => d.messageId.index), [published[1], published[3], published[4]])
})

t.test('dispatch pauses at maxUnackedMessages and resumes on acks', async (t) => {
  const { dispatcher, delivered, published } = setup({ limits: { maxUnackedMessagesPerConsumer: 4 } })
  dispatcher.attach(consumer)
  dispatcher.flow(1, 100)
  await settle()
  t.equal(delivered.length, 2)
  dispatcher.acknowledge(1, [0, 1].map((b) => ({ partition: 0, index: published[0], batchIndex: b })))
  dispatcher.flow(1, 0)
  await settle()
  t.equal(delivered.length, 3)
})

t.test('close stops everything: no deliveries, no timers', async (t) => {
  const { dispatcher, delivered, clock, publish, published } = setup()
  dispatcher.attach(consumer)
  dispatcher.flow(1, 2)
  await settle()
  dispatcher.acknowledge(1, [0, 1].map((b) => ({ partition: 0, index: published[0], batchIndex: b })))
  dispatcher.close('subscription deleted')
  publish()
  dispatcher.flow(1, 100)
  await settle()
  t.equal(delivered.length, 1)
  t.equal(clock.pending(), 0)
})

t.test('reset: the dispatcher continues from the reset cursor', async (t) => {
  const { dispatcher, delivered, log, published } = setup()
  dispatcher.attach(consumer)
  dispatcher.flow(1, 100)
  await settle()
  log.commit({ kind: 'subscription', body: { op: 'reset', subscription: 's', position: { at: 'message', index: published[3], batchIndex: 0 } } })
  delivered.length = 0
  dispatcher.cursorReset(log.sm.cursor('s')!)
  await settle()
  t.same(delivered.map((d) => d.messageId.index), [published[3], published[4]])
})

t.test('property: through consumer churn, leader changes and lost proposals, every message is delivered and acked, cursors never move back', async () => {
  const op = fc.oneof(
    fc.constant({ type: 'publish' as const }),
    fc.record({ type: fc.constant('flow' as const), permits: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ type: fc.constant('ack' as const), pick: fc.nat(), cumulative: fc.boolean() }),
    fc.constant({ type: 'detach' as const }),
    fc.constant({ type: 'redeliver' as const }),
    fc.constant({ type: 'leader-change' as const }),
    fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 250 }) })
  )
  await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 60 }), fc.boolean(), async (ops, loseProposals) => {
    const env = setup({ batches: 2 })
    let dispatcher = env.dispatcher
    let consumerId = 1
    let failNext = loseProposals
    let lastMarkDelete = 0
    const published = [...env.published]
    const connect = (d: SubscriptionDispatcher<SingleActivePolicy>): void => { d.attach({ consumerId, consumerName: `c${consumerId}` }) }
    const fresh = (): SubscriptionDispatcher<SingleActivePolicy> => {
      const d = env.makeDispatcher()
      const propose = (d as unknown as { proposeCursor: (u: unknown) => Promise<void> })
      const original = propose.proposeCursor
      propose.proposeCursor = async (update) => {
        if (failNext) { failNext = false; throw new Error('leadership lost before commit') }
        return original(update)
      }
      return d
    }
    dispatcher.close('replaced by one that can lose proposals')
    dispatcher = fresh()
    connect(dispatcher)
    for (const o of ops) {
      if (o.type === 'publish') published.push(env.publish())
      if (o.type === 'flow') dispatcher.flow(consumerId, o.permits)
      if (o.type === 'ack' && env.delivered.length > 0) {
        const d = env.delivered[o.pick % env.delivered.length]
        if (o.cumulative) dispatcher.acknowledgeCumulative(consumerId, { ...d.messageId, batchIndex: 1 })
        else dispatcher.acknowledge(consumerId, [0, 1].map((b) => ({ ...d.messageId, batchIndex: b })))
      }
      if (o.type === 'detach') { dispatcher.detach(consumerId); consumerId++; connect(dispatcher) }
      if (o.type === 'redeliver') dispatcher.redeliverUnacknowledged(consumerId)
      if (o.type === 'leader-change') { dispatcher.close('leader change'); dispatcher = fresh(); consumerId++; connect(dispatcher) }
      if (o.type === 'tick') await env.clock.runUntil(env.clock.now() + o.ms)
      await settle()
      const markDelete = env.log.sm.cursor('s')!.markDelete
      if (markDelete < lastMarkDelete) return false
      lastMarkDelete = markDelete
    }
    // Drain: a consumer that acks everything it gets ends with every message acknowledged.
    for (let round = 0; round < 50 && env.log.sm.backlog('s') > 0; round++) {
      for (const d of env.delivered) dispatcher.acknowledge(consumerId, [0, 1].map((b) => ({ ...d.messageId, batchIndex: b })))
      env.delivered.length = 0
      dispatcher.flow(consumerId, 1_000)
      await settle()
      await env.clock.runUntil(env.clock.now() + 250)
      await settle()
    }
    return env.log.sm.backlog('s') === 0 && env.log.sm.cursor('s')!.markDelete >= published.at(-1)!
  }), { numRuns: 60 })
})
