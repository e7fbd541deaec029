// Topic compaction through the partition state machine and the replica: a `compaction` entry
// sets the horizon on every replica, the leader's view is built from the retained log (so a
// snapshot-restored replica and a new leader build the same one), retention never trims what
// the view keeps, the compactionThreshold triggers it on the virtual clock, and readCompacted
// readers see only the latest message per key up to the horizon.
import t from 'tap'
import { silentLogger } from '@blazar/env'
import { CompressionCodecs, DEFAULT_PARTITION_CONFIG, decodeBatch, encodeBatch, encodePartitionEntry, type BatchEnvelope, type ProducerMessage } from '@blazar/protocol'
import { Compactor } from '../src/index.ts'
import { TestPartitionLog, codecs } from './fixtures/partition-log.ts'
import { partitionCluster } from './fixtures/raft-cluster.ts'

let sequence = 0
function keyed (...records: Array<[string | undefined, string]>): BatchEnvelope {
  const batch: ProducerMessage[] = records.map(([key, value]) => ({
    ...(key === undefined ? {} : { key }), properties: {}, payload: new TextEncoder().encode(value), eventTime: 0, sequenceId: sequence++
  }))
  return encodeBatch(batch, { producerName: 'p' }, codecs)
}

const compactorOf = (log: TestPartitionLog): Compactor => new Compactor({ sm: log.sm, codecs: new CompressionCodecs(), logger: silentLogger, isLeading: () => true })

/** Every batch index of the log with the message indexes the view keeps (undefined: after the horizon). */
async function keptOf (log: TestPartitionLog, compactor: Compactor): Promise<Array<[number, number[] | undefined]>> {
  const view = await compactor.current()
  return (await log.sm.read(1, { maxEntries: 1_000, maxBytes: 1 << 30 })).map((batch) => [batch.index, view.keptAt(batch.index, batch.envelope.messageCount)])
}

t.test('a compaction entry sets the horizon; the view is built from the retained log, the same after a snapshot restore', async (t) => {
  const log = new TestPartitionLog()
  const a1 = log.publish(keyed(['a', 'a1'], ['b', 'b1'], [undefined, 'no key']))
  const a2 = log.publish(keyed(['a', 'a2']))
  const c1 = log.publish(keyed(['c', 'c1'], ['b', '']))
  const horizon = log.commit({ kind: 'compaction', body: {} })
  const after = log.publish(keyed(['a', 'a3']))
  t.equal(log.sm.compactionHorizon, horizon)
  const compactor = compactorOf(log)
  const kept = await keptOf(log, compactor)
  t.same(kept, [[a1, []], [a2, [0]], [c1, [0]], [after, undefined]], 'a2 and c1 kept; b deleted; the keyless message and a1 left out; a3 after the horizon')
  t.equal((await compactor.current()).trimBound(), a2 - 1, 'retention may trim below the first kept batch only')

  const restored = new TestPartitionLog()
  restored.entries.push(...log.entries)
  restored.sm.restore(log.sm.snapshot(), { index: log.lastIndex, term: 1, config: { voters: [], learners: [] } })
  t.equal(restored.sm.compactionHorizon, horizon, 'the snapshot carries the horizon')
  t.same(await keptOf(restored, compactorOf(restored)), kept, 'a restored replica builds the same view')
})

t.test('raising the horizon continues the view; a trim computed before the first compaction is ignored after it', async (t) => {
  const log = new TestPartitionLog()
  const first = log.publish(keyed(['k', 'v1']))
  log.commit({ kind: 'compaction', body: {} })
  const compactor = compactorOf(log)
  t.same((await compactor.current()).keptAt(first, 1), [0])
  const second = log.publish(keyed(['k', 'v2']))
  log.commit({ kind: 'compaction', body: {} })
  const view = await compactor.current()
  t.same(view.keptAt(first, 1), [], 'superseded by the later compaction')
  t.same(view.keptAt(second, 1), [0])
  t.same(await keptOf(log, compactor), await keptOf(log, compactorOf(log)), 'stepwise and from scratch agree')
  log.commit({ kind: 'trim', body: { upTo: second } })
  t.equal(log.sm.firstRetainedIndex, 1, 'a trim without a compaction horizon is ignored once compacted')
  log.commit({ kind: 'trim', body: { upTo: view.trimBound(), compactionHorizon: view.horizon } })
  t.equal(log.sm.firstRetainedIndex, second, 'a bounded trim drops the superseded batch only')
  t.same(await keptOf(log, compactorOf(log)), [[second, [0]]], 'the view rebuilt after the trim is the same')
})

t.test('the key bound fails the build with a typed error, kept in the status', async (t) => {
  const log = new TestPartitionLog()
  log.publish(keyed(['a', '1'], ['b', '2']))
  log.commit({ kind: 'compaction', body: {} })
  const compactor = new Compactor({ sm: log.sm, codecs: new CompressionCodecs(), logger: silentLogger, isLeading: () => true, maxKeys: 1 })
  await t.rejects(compactor.current(), { name: 'LimitExceededError' })
  t.match(compactor.status(), { horizon: 2, error: /compacted keys/ })
  t.equal(await compactor.trimBound(), null, 'nothing is trimmed while the view cannot be built')
})

t.test('only a leader builds the view: after leadership went, current() is NOT_LEADER', async (t) => {
  const log = new TestPartitionLog()
  log.publish(keyed(['a', '1']))
  log.commit({ kind: 'compaction', body: {} })
  let leading = true
  const compactor = new Compactor({ sm: log.sm, codecs: new CompressionCodecs(), logger: silentLogger, isLeading: () => leading })
  t.equal((await compactor.current()).keys, 1)
  leading = false
  compactor.release()
  await t.rejects(compactor.current(), { name: 'NotLeaderError' })
  t.match(compactor.status(), { horizon: 2, builtTo: 0, keys: 0 }, 'the memory went with the leadership')
})

const keyedPayloads = (entries: Array<{ entry: { batch: BatchEnvelope, ackedBatchIndexes?: number[] } }>): string[] => {
  const out: string[] = []
  for (const { entry } of entries) {
    const acked = new Set(entry.ackedBatchIndexes ?? [])
    for (const [i, message] of decodeBatch(entry.batch, codecs).entries()) if (!acked.has(i)) out.push(`${message.key}=${new TextDecoder().decode(message.payload)}`)
  }
  return out
}

t.test('on three RaftNodes: a new leader has the same horizon, its readCompacted reader sees the latest value per key; retention keeps the view', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 31)
  const leader = await c.waitForLeader()
  await c.settle(leader.replica.send(keyed(['a', 'a1'], ['b', 'b1'])))
  const firstKept = (await c.settle(leader.replica.send(keyed(['a', 'a2'], ['c', 'c1'])))).messageId.index
  await c.settle(leader.replica.send(keyed(['b', ''])))
  const { horizon } = await c.settle(leader.replica.compact())
  await c.settle(leader.replica.send(keyed(['d', 'd1'])))
  for (const host of c.hosts.values()) t.equal(host.sm.compactionHorizon, horizon, `${host.id}: the horizon is replicated`)
  // Retention 0 and no subscription would drop everything: the view's batches stay.
  await c.clock.runUntil(c.clock.now() + 3_000)
  t.equal(leader.sm.firstRetainedIndex, firstKept, 'retention trimmed up to the first batch the view keeps, not further')

  c.crash(leader.id)
  const next = await c.waitForLeader()
  t.not(next.id, leader.id)
  await t.rejects(c.settle(next.replica.subscribe({ subscription: 'shared', type: 'Shared', initialPosition: 'Earliest', consumer: { consumerId: 9, consumerName: 's' }, readCompacted: true })),
    { name: 'UnsupportedOperationError' }, 'readCompacted on a Shared subscription is refused')
  await c.settle(next.replica.subscribe({ subscription: 'r', type: 'Exclusive', initialPosition: 'Earliest', durable: false, readCompacted: true, consumer: { consumerId: 1, consumerName: 'r' } }))
  next.replica.flow(1, 1_000)
  await c.clock.runUntil(c.clock.now() + 500)
  const seen = keyedPayloads(c.delivered.filter((d) => d.node === next.id && d.consumer === 1))
  t.same(seen, ['a=a2', 'c=c1', 'd=d1'], 'latest per key up to the horizon (b deleted), then the log after it')
  t.match(next.replica.compaction(), { horizon, builtTo: horizon, keys: 2 })

  await c.settle(next.replica.subscribe({ subscription: 'plain', type: 'Exclusive', initialPosition: 'Earliest', durable: false, consumer: { consumerId: 2, consumerName: 'p' } }))
  next.replica.flow(2, 1_000)
  await c.clock.runUntil(c.clock.now() + 500)
  t.same(keyedPayloads(c.delivered.filter((d) => d.node === next.id && d.consumer === 2)), ['a=a2', 'c=c1', 'b=', 'd=d1'],
    'a reader without readCompacted reads the retained log, the tombstone included (the first batch, with nothing kept, was trimmed)')

  // The last batch compacted out: a compacted reader's last message is the last one the view keeps.
  const d1 = c.delivered.find((d) => d.consumer === 1 && keyedPayloads([d])[0] === 'd=d1')!.entry.messageId.index
  const tombstone = (await c.settle(next.replica.send(keyed(['a', ''])))).messageId.index
  await c.settle(next.replica.compact())
  await c.settle(next.replica.subscribe({ subscription: 'r2', type: 'Exclusive', initialPosition: 'Earliest', durable: false, readCompacted: true, consumer: { consumerId: 3, consumerName: 'r2' } }))
  t.same(next.replica.lastMessageId(3).lastMessageId, { partition: 0, index: d1, batchIndex: 0 }, 'read compacted: the last kept message')
  t.same(next.replica.lastMessageId(2).lastMessageId, { partition: 0, index: tombstone, batchIndex: 0 }, 'otherwise the last stored one')
  for (const host of c.hosts.values()) if (!c.down.has(host.id)) host.node.stop()
})

t.test('the compactionThreshold triggers a compaction on the leader\'s policy timer', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 32, undefined, { compactionCheckIntervalMs: 60_000 })
  const leader = await c.waitForLeader()
  await c.settle(leader.replica.subscribe({ subscription: 's', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'c' } }))
  const config = encodePartitionEntry({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, compactionThreshold: 1_000 } })
  await c.settle(leader.node.propose(config.data, config.kind))
  await c.settle(leader.replica.send(keyed(['k', 'x'.repeat(600)])))
  await c.clock.runUntil(c.clock.now() + 61_000)
  t.equal(leader.sm.compactionHorizon, 0, 'under the threshold: not compacted')
  const last = (await c.settle(leader.replica.send(keyed(['k', 'y'.repeat(600)])))).messageId.index
  await c.clock.runUntil(c.clock.now() + 61_000)
  t.ok(leader.sm.compactionHorizon > last, `over the threshold: compacted on the next check (horizon ${leader.sm.compactionHorizon})`)
  t.equal(leader.sm.bytesSinceCompaction(), 0)
  for (const host of c.hosts.values()) host.node.stop()
})
