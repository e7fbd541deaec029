// What Pulsar's readers and seeks need from a partition: where a reset or a reader's start puts
// the cursor (inclusive or not, inside a batch, by publish time, beyond the end), readers
// (non-durable subscriptions) that leave nothing in the log, and GET_LAST_MESSAGE_ID.
import t from 'tap'
import type { DeliveredEntry } from '@blazar/protocol'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'
import { partitionCluster } from './fixtures/raft-cluster.ts'

t.test('reset points: inclusive or not, whole batches and positions inside a batch, publish time, past the end', async (t) => {
  const log = new TestPartitionLog()
  const a = log.publish(batch('p', 0, 3), 1_000)
  log.commitNoop()
  const b = log.publish(batch('p', 3, 1), 2_000)
  const end = log.lastIndex
  const sm = log.sm
  t.same(sm.resetPoint({ at: 'message', index: a, batchIndex: 0 }, end), { markDelete: a - 1, batchAcks: [] }, 'inclusive by default: the batch is delivered again')
  t.same(sm.resetPoint({ at: 'message', index: a, batchIndex: 1 }, end), { markDelete: a - 1, batchAcks: [[a, [0]]] }, 'inclusive inside a batch: the earlier message counts as acknowledged')
  t.same(sm.resetPoint({ at: 'message', index: a, batchIndex: 1, inclusive: false }, end), { markDelete: a - 1, batchAcks: [[a, [0, 1]]] }, 'exclusive inside a batch: that message too')
  t.same(sm.resetPoint({ at: 'message', index: a, batchIndex: 2, inclusive: false }, end), { markDelete: a, batchAcks: [] }, 'exclusive of the last message of a batch: the batch is done')
  t.same(sm.resetPoint({ at: 'message', index: a, batchIndex: -1, inclusive: false }, end), { markDelete: a, batchAcks: [] }, 'exclusive of a whole batch')
  t.same(sm.resetPoint({ at: 'message', index: b, batchIndex: 0, inclusive: false }, end), { markDelete: b, batchAcks: [] })
  t.same(sm.resetPoint({ at: 'message', index: 10_000, batchIndex: 0, inclusive: false }, end), { markDelete: end, batchAcks: [] }, 'never beyond the end of the log')
  t.same(sm.resetPoint({ at: 'message', index: Number.MAX_SAFE_INTEGER, batchIndex: 65_535 }, end), { markDelete: b - 1, batchAcks: [] }, 'latest, inclusive: the last message')
  t.same(sm.resetPoint({ at: 'message', index: 0, batchIndex: -1 }, end), { markDelete: 0, batchAcks: [] }, 'earliest')
  t.same(sm.resetPoint({ at: 'publishTime', publishTime: 1_500 }, end), { markDelete: b - 1, batchAcks: [] }, 'first batch published at or after the time')
  t.same(sm.resetPoint({ at: 'publishTime', publishTime: 5_000 }, end), { markDelete: end, batchAcks: [] }, 'after everything: the end')
  t.same(sm.resetPoint({ at: 'latest' }, end), { markDelete: end, batchAcks: [] })

  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Shared', initialPosition: 'Earliest' } })
  log.commit({ kind: 'subscription', body: { op: 'reset', subscription: 's', position: { at: 'message', index: a, batchIndex: 2 } } })
  t.same(sm.cursor('s'), { subscription: 's', type: 'Shared', generation: 1, markDelete: a - 1, ackedRanges: [], batchAcks: [[a, [0, 1]]] }, 'a replicated reset carries the batch-index acks')
  t.equal(sm.backlog('s'), 4, 'the backlog counts the partly acknowledged batch until it is all acknowledged (per entry, as Pulsar)')
})

t.test('the last message id outlives trims and snapshots', async (t) => {
  const log = new TestPartitionLog()
  t.equal(log.sm.lastBatch, null)
  const a = log.publish(batch('p', 0, 4))
  t.same(log.sm.lastBatch, { index: a, messageCount: 4 })
  log.commit({ kind: 'trim', body: { upTo: a } })
  t.equal(log.sm.firstRetainedIndex, a + 1, 'trimmed (no subscription holds it)')
  t.same(log.sm.lastBatch, { index: a, messageCount: 4 }, 'still known after the trim')
  const restored = new TestPartitionLog()
  restored.sm.restore(log.sm.snapshot(), { index: log.lastIndex, term: 1, config: { voters: [], learners: [] } } as never)
  t.same(restored.sm.lastBatch, { index: a, messageCount: 4 }, 'and after a snapshot restore')
})

t.test('readers: a non-durable subscription proposes nothing, starts where asked, seeks in memory, ends with its consumer', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 21)
  const leader = await c.waitForLeader()
  const sent: number[] = []
  for (let i = 0; i < 4; i++) sent.push((await c.settle(leader.replica.send(batch('p', i * 2, 2)))).messageId.index)
  const entriesBefore = leader.sm.appliedIndex
  const indexesOf = (consumerId: number): number[] => c.delivered.filter((d) => d.consumer === consumerId).map((d) => d.entry.messageId.index)

  await c.settle(leader.replica.subscribe({
    subscription: 'reader-1', type: 'Exclusive', initialPosition: 'Latest', durable: false,
    startMessageId: { partition: 0, index: sent[1], batchIndex: 1 }, startMessageIdInclusive: false, consumer: { consumerId: 1, consumerName: 'r1' }
  }))
  leader.replica.flow(1, 100)
  await c.clock.runUntil(c.clock.now() + 50)
  t.same(indexesOf(1), sent.slice(2), 'exclusive of the last message of a batch: starts at the next batch')
  leader.replica.acknowledge(1, 'Cumulative', [{ partition: 0, index: sent[3], batchIndex: 1 }])
  t.same(leader.replica.lastMessageId(1), {
    lastMessageId: { partition: 0, index: sent[3], batchIndex: 1 },
    markDeletePosition: { partition: 0, index: sent[3], batchIndex: -1 }
  }, 'GET_LAST_MESSAGE_ID: the last message and the reader\'s mark-delete')

  await c.settle(leader.replica.subscribe({
    subscription: 'reader-2', type: 'Exclusive', initialPosition: 'Earliest', durable: false,
    startMessageId: { partition: 0, index: sent[0], batchIndex: 1 }, startMessageIdInclusive: true, consumer: { consumerId: 2, consumerName: 'r2' }
  }))
  leader.replica.flow(2, 100)
  await c.clock.runUntil(c.clock.now() + 50)
  const first = c.delivered.find((d) => d.consumer === 2)!.entry
  t.equal(first.messageId.index, sent[0])
  t.same(first.ackedBatchIndexes, [0], 'inclusive inside a batch: the batch comes with its earlier message marked acknowledged')

  c.delivered.length = 0
  await c.settle(leader.replica.seek(2, { at: 'message', index: sent[2], batchIndex: 0 }))
  leader.replica.flow(2, 100)
  await c.clock.runUntil(c.clock.now() + 50)
  t.same(indexesOf(2), sent.slice(2), 'a reader\'s seek moves its in-memory cursor')

  await c.clock.runUntil(c.clock.now() + 1_000)
  const kinds = Array.from({ length: leader.sm.appliedIndex - entriesBefore }, (_, i) => leader.sm.outcome(entriesBefore + 1 + i)?.kind)
  t.notOk(kinds.some((kind) => kind === 'cursor' || kind === 'subscription' || kind === 'rejected'), `no subscription, cursor or reset entry reached the log (${kinds.join(', ')})`)
  t.same(leader.sm.subscriptions(), [], 'no durable cursor exists')
  await t.rejects(c.settle(leader.replica.subscribe({ subscription: 'reader-1', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 3, consumerName: 'd' } })), { code: 'UNSUPPORTED_OPERATION' }, 'a durable subscribe to a reader\'s name is refused')

  leader.replica.closeConsumer(1)
  await c.settle(leader.replica.subscribe({ subscription: 'reader-1', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 4, consumerName: 'd' } }))
  t.ok(leader.sm.cursor('reader-1') !== undefined, 'once the reader closed, its name is free: no state of it was left')
  await t.rejects(c.settle(leader.replica.subscribe({ subscription: 'reader-1', type: 'Exclusive', initialPosition: 'Earliest', durable: false, consumer: { consumerId: 5, consumerName: 'r' } })), { code: 'UNSUPPORTED_OPERATION' }, 'a reader cannot take a durable subscription\'s name')
  for (const host of c.hosts.values()) host.node.stop()
})

t.test('GET_LAST_MESSAGE_ID on an empty partition and a durable subscription', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 23)
  const leader = await c.waitForLeader()
  await c.settle(leader.replica.subscribe({ subscription: 'd', type: 'Shared', initialPosition: 'Latest', consumer: { consumerId: 1, consumerName: 'c' } }))
  const empty = leader.replica.lastMessageId(1)
  t.same(empty.lastMessageId, { partition: 0, index: 0, batchIndex: -1 }, 'no message: (partition, 0, -1)')
  t.ok(empty.markDeletePosition.index >= empty.lastMessageId.index, 'nothing to read')
  const sent = (await c.settle(leader.replica.send(batch('p', 0, 3)))).messageId.index
  const after = leader.replica.lastMessageId(1)
  t.same(after.lastMessageId, { partition: 0, index: sent, batchIndex: 2 }, 'the last message of the last batch')
  t.ok(after.markDeletePosition.index < after.lastMessageId.index, 'a message is available')
  const delivered: DeliveredEntry[] = []
  leader.replica.flow(1, 10)
  await c.clock.runUntil(c.clock.now() + 50)
  delivered.push(...c.delivered.map((d) => d.entry))
  leader.replica.acknowledge(1, 'Individual', [0, 1, 2].map((batchIndex) => ({ partition: 0, index: sent, batchIndex })))
  t.equal(leader.replica.lastMessageId(1).markDeletePosition.index, sent, 'mark-delete includes acknowledgements not yet proposed')
  for (const host of c.hosts.values()) host.node.stop()
})
