// Batch-index acks (acking part of a batch) and the redelivery count on pushed messages, on
// every dispatcher: a partly acknowledged batch is kept in the replicated cursor, comes back
// with its acknowledged messages marked (Pulsar's ack_set), and counts as acknowledged once all
// its messages are; a redelivered batch carries how often it was redelivered.
import t from 'tap'
import { SeededRandom, VirtualClock, silentLogger, type Env } from '@blazar/env'
import type { DeliveredEntry, MessageIdData } from '@blazar/protocol'
import { exclusiveDispatcher, keySharedDispatcher, sharedDispatcher, type DispatcherOptions, type SubscriptionDispatcher } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'

type AnyDispatcher = SubscriptionDispatcher
const kinds: Array<[string, (options: DispatcherOptions) => AnyDispatcher]> = [
  ['Exclusive', exclusiveDispatcher],
  ['Shared', sharedDispatcher],
  ['Key_Shared', keySharedDispatcher]
]

function setup (make: (options: DispatcherOptions) => AnyDispatcher) {
  const clock = new VirtualClock()
  const env: Env = { clock, random: new SeededRandom(1), logger: silentLogger }
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Shared', initialPosition: 'Earliest' } })
  const first = log.publish(batch('p', 0, 3))
  const second = log.publish(batch('p', 3, 1))
  const delivered: DeliveredEntry[] = []
  const open = (): AnyDispatcher => make({
    env,
    topic: log.sm.topic,
    partition: 0,
    cursor: log.sm.cursor('s')!,
    source: log.sm,
    deliver: (_consumer, entries) => { delivered.push(...entries) },
    proposeCursor: async (update) => { log.commit({ kind: 'cursor', body: update }) }
  })
  return { clock, log, first, second, delivered, open }
}

const id = (index: number, batchIndex: number): MessageIdData => ({ partition: 0, index, batchIndex })
const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

for (const [type, make] of kinds) {
  t.test(`${type}: a partly acknowledged batch is kept in the replicated cursor and comes back with its acked messages marked`, async (t) => {
    const { clock, log, first, second, delivered, open } = setup(make)
    const dispatcher = open()
    dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
    dispatcher.flow(1, 100)
    await settle()
    t.same(delivered.map((d) => [d.messageId.index, d.redeliveryCount, d.ackedBatchIndexes]), [[first, 0, undefined], [second, 0, undefined]])
    dispatcher.acknowledge(1, [id(first, 0), id(first, 2), id(second, 0)])
    await clock.runUntil(clock.now() + 200)
    t.same(log.sm.cursor('s')?.batchAcks, [[first, [0, 2]]], 'the batch-index acks are replicated')
    t.ok(log.sm.cursor('s')!.markDelete < first, 'the partly acknowledged batch holds mark-delete')
    t.ok(log.sm.cursor('s')?.ackedRanges.some(([from, to]) => from <= second && second <= to), 'the whole batch is an acked range')

    delivered.length = 0
    dispatcher.redeliverUnacknowledged(1)
    await settle()
    t.same(delivered.map((d) => [d.messageId.index, d.redeliveryCount, d.ackedBatchIndexes]), [[first, 1, [0, 2]]], 'redelivered once, with its acked messages marked')

    dispatcher.close('leadership moved')
    delivered.length = 0
    const next = open()
    next.attach({ consumerId: 2, consumerName: 'c2' })
    next.flow(2, 100)
    await settle()
    t.same(delivered.map((d) => [d.messageId.index, d.ackedBatchIndexes]), [[first, [0, 2]]], 'a new leader starts from the replicated batch-index acks')
    next.acknowledge(2, [id(first, 1)])
    await clock.runUntil(clock.now() + 200)
    t.equal(log.sm.cursor('s')?.markDelete, second, 'once every message is acknowledged the batch is, and mark-delete moves past it')
    t.same(log.sm.cursor('s')?.batchAcks, [])
    t.equal(log.sm.backlog('s'), 0)
    next.close('done')
  })
}

t.test('Exclusive: a cumulative ack inside a batch acknowledges the batch\'s messages up to it', async (t) => {
  const { clock, log, first, open } = setup(exclusiveDispatcher)
  const dispatcher = open()
  dispatcher.attach({ consumerId: 1, consumerName: 'c1' })
  dispatcher.flow(1, 100)
  await settle()
  dispatcher.acknowledgeCumulative(1, id(first, 1))
  await clock.runUntil(clock.now() + 200)
  t.same(log.sm.cursor('s')?.batchAcks, [[first, [0, 1]]])
  dispatcher.acknowledgeCumulative(1, id(first, -1))
  await clock.runUntil(clock.now() + 200)
  t.equal(log.sm.cursor('s')?.markDelete, first, 'batch index -1: the whole batch')
  dispatcher.close('done')
})

t.test('batch-index acks naming a message the batch does not have are rejected by the state machine', async (t) => {
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Shared', initialPosition: 'Earliest' } })
  const first = log.publish(batch('p', 0, 2))
  const bad = log.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: 0, ackedRanges: [], batchAcks: [[first, [5]]] } })
  t.equal(log.sm.outcome(bad)?.kind, 'rejected')
  t.same(log.sm.cursor('s')?.batchAcks, [], 'nothing changed')
})
