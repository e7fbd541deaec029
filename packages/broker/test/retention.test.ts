// Retention after acknowledgement (Pulsar's semantics: it keeps acknowledged messages, by time
// and size, 0 = none, -1 = unlimited; unacknowledged ones are never dropped) and the snapshot a
// trim asks for, which lets the store delete the log behind the trim point: on three real
// RaftNodes a trim of enough bytes is followed by a snapshot on every replica long before
// Raft's entry-count threshold.
import t from 'tap'
import { DEFAULT_PARTITION_CONFIG } from '@blazar/protocol'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'
import { partitionCluster } from './fixtures/raft-cluster.ts'

t.test('size retention keeps the newest acknowledged batches within the size; unacknowledged ones always stay', async (t) => {
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } })
  const body = batch('p', 0, 1, 300 * 1024).body.length
  const ids = Array.from({ length: 6 }, (_, i) => log.publish(batch('p', i, 1, 300 * 1024), 1_000 + i))
  log.commit({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, retentionTimeMinutes: -1, retentionSizeMB: 1 } })
  t.equal(log.sm.retentionTrimPoint(10_000), 0, 'nothing acknowledged: nothing trimmed whatever the size')
  log.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: ids[4], ackedRanges: [] } })
  // 1 MiB holds three 300 KiB batches: the acknowledged ids[2..4] stay, ids[0..1] go.
  t.ok(3 * body <= 1024 * 1024 && 4 * body > 1024 * 1024)
  t.equal(log.sm.retentionTrimPoint(10_000), ids[1], 'the oldest acknowledged batches beyond 1 MiB are trimmed')
  log.commit({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, retentionTimeMinutes: 0, retentionSizeMB: -1 } })
  t.equal(log.sm.retentionTrimPoint(10_000), ids[4], 'time 0: no acknowledged batch is kept, whatever the size')
  log.commit({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, retentionTimeMinutes: -1, retentionSizeMB: -1 } })
  t.equal(log.sm.retentionTrimPoint(10_000), 0, '-1/-1: everything kept')
})

t.test('a trim that frees enough bytes asks for a snapshot; taking one resets it', async (t) => {
  const log = new TestPartitionLog({ snapshotAfterTrimmedBytes: 1_000 })
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } })
  const ids = Array.from({ length: 4 }, (_, i) => log.publish(batch('p', i, 1, 400)))
  log.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: ids[3], ackedRanges: [] } })
  log.commit({ kind: 'trim', body: { upTo: ids[1] } })
  t.notOk(log.sm.snapshotWanted(), 'two batches (under 1,000 bytes) trimmed')
  log.commit({ kind: 'trim', body: { upTo: ids[3] } })
  t.ok(log.sm.snapshotWanted(), 'four 400-byte batches trimmed')
  log.sm.snapshot()
  t.notOk(log.sm.snapshotWanted(), 'the snapshot covers them')
})

t.test('every replica snapshots after a trim of enough bytes, far below the entry threshold', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 21, undefined, { snapshotAfterTrimmedBytes: 64 * 1024 })
  const leader = await c.waitForLeader()
  await c.settle(leader.replica.subscribe({ subscription: 's', type: 'Exclusive', initialPosition: 'Earliest', consumer: { consumerId: 1, consumerName: 'c' } }))
  let last = 0
  for (let i = 0; i < 20; i++) last = (await c.settle(leader.replica.send(batch('p', i, 1, 8 * 1024)))).messageId.index
  for (const host of c.hosts.values()) t.equal((await host.storage.loadSnapshot()), null, `${host.id}: no snapshot before the trim`)
  leader.replica.flow(1, 1_000)
  await c.clock.runUntil(c.clock.now() + 200)
  leader.replica.acknowledge(1, 'Cumulative', [{ partition: 0, index: last, batchIndex: 0 }])
  await c.clock.runUntil(c.clock.now() + 2_000)
  for (const host of c.hosts.values()) {
    t.ok(host.sm.firstRetainedIndex > last, `${host.id}: retention trimmed the acknowledged batches`)
    const snapshot = await host.storage.loadSnapshot()
    t.ok(snapshot !== null && snapshot.meta.index >= last, `${host.id}: a snapshot covers the trim point (${snapshot?.meta.index}), so the log behind it can go`)
  }
  for (const host of c.hosts.values()) host.node.stop()
})
