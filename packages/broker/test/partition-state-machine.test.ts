import t from 'tap'
import fc from 'fast-check'
import { silentLogger } from '@blazar/env'
import { DEFAULT_PARTITION_CONFIG, MessageId, type MessageIdData } from '@blazar/protocol'
import { PartitionStateMachine } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'

const dedupOn = { ...DEFAULT_PARTITION_CONFIG, deduplication: true }

t.test('batches get message IDs (partition, raft index, batch index) and are read back in order', async (t) => {
  const log = new TestPartitionLog()
  log.commitNoop()
  const a = log.publish(batch('p', 0, 3))
  const b = log.publish(batch('p', 3, 2))
  t.same(log.sm.outcome(a), { kind: 'stored', firstMessageId: { partition: 0, index: 2, batchIndex: 0 }, messageCount: 3 })
  t.equal(MessageId.fromData((log.sm.outcome(b) as { firstMessageId: MessageIdData }).firstMessageId).toString(), '3:0:0')
  const read = await log.sm.read(0, { maxEntries: 10, maxBytes: 1 << 20 })
  t.same(read.map((r) => [r.index, r.envelope.messageCount]), [[2, 3], [3, 2]])
  t.same((await log.sm.read(3, { maxEntries: 10, maxBytes: 1 << 20 })).map((r) => r.index), [3])
  t.same(log.sm.stats(), { messagesIn: 5, bytesIn: read[0].envelope.body.length + read[1].envelope.body.length, retainedMessages: 5, retainedBytes: read[0].envelope.body.length + read[1].envelope.body.length, producers: 1 })
})

t.test('reads beyond the bounded cache come from the log, with the same result', async (t) => {
  const small = new TestPartitionLog({ cacheLimits: { maxEntries: 3, maxBytes: 1 << 20 } })
  const big = new TestPartitionLog()
  for (let i = 0; i < 20; i++) {
    small.commit({ kind: 'subscription', body: { op: 'create', subscription: `s${i % 2}`, type: 'Exclusive', initialPosition: 'Earliest' } })
    big.commit({ kind: 'subscription', body: { op: 'create', subscription: `s${i % 2}`, type: 'Exclusive', initialPosition: 'Earliest' } })
    small.publish(batch('p', i))
    big.publish(batch('p', i))
  }
  const fromCacheAndLog = await small.sm.read(0, { maxEntries: 100, maxBytes: 1 << 20 })
  const fromCache = await big.sm.read(0, { maxEntries: 100, maxBytes: 1 << 20 })
  t.equal(fromCacheAndLog.length, 20)
  t.same(fromCacheAndLog.map((b) => b.index), fromCache.map((b) => b.index))
  t.same(fromCacheAndLog.map((b) => [...b.envelope.body]), fromCache.map((b) => [...b.envelope.body]))
  t.equal((await small.sm.read(0, { maxEntries: 5, maxBytes: 1 << 20 })).length, 5, 'maxEntries')
  t.equal((await small.sm.read(0, { maxEntries: 100, maxBytes: 1 })).length, 1, 'maxBytes still returns one')
})

t.test('deduplication (off by default, as in Pulsar): a retried batch is not stored twice when on', async (t) => {
  const off = new TestPartitionLog()
  off.publish(batch('p', 0, 2))
  off.publish(batch('p', 0, 2))
  t.equal(off.sm.stats().messagesIn, 4)
  const on = new TestPartitionLog()
  on.commit({ kind: 'config', body: dedupOn })
  const first = on.publish(batch('p', 0, 2))
  const retry = on.publish(batch('p', 0, 2))
  t.equal(on.sm.outcome(first)?.kind, 'stored')
  t.same(on.sm.outcome(retry), { kind: 'duplicate', producerName: 'p', lastSequenceId: 1 })
  t.equal(on.sm.stats().messagesIn, 2)
  t.equal(on.sm.lastSequenceId('p'), 1)
  t.equal(on.sm.lastSequenceId('other'), -1)
  t.equal(on.sm.outcome(on.publish(batch('other', 0)))?.kind, 'stored', 'dedup is per producer name')
})

t.test('a batch naming a previous sequence id that is not stored is rejected, stores nothing, and is accepted once it is', async (t) => {
  const log = new TestPartitionLog()
  log.publish(batch('p', 0, 2))
  const early = log.commit({ kind: 'batch', body: { ...batch('p', 4, 2), publishTime: 1_000, previousSequenceId: 3 } })
  t.same(log.sm.outcome(early), {
    kind: 'rejected',
    error: { code: 'OUT_OF_ORDER_SEQUENCE', message: 'producer p: the batch after sequence id 3 arrived before it (last stored: 1)', details: { producerName: 'p', previousSequenceId: 3, lastSequenceId: 1 } }
  })
  t.equal(log.sm.stats().messagesIn, 2, 'nothing stored')
  t.equal(log.sm.lastSequenceId('p'), 1)
  t.equal(log.sm.outcome(log.commit({ kind: 'batch', body: { ...batch('p', 2, 2), publishTime: 1_000, previousSequenceId: 1 } }))?.kind, 'stored')
  t.equal(log.sm.outcome(log.commit({ kind: 'batch', body: { ...batch('p', 4, 2), publishTime: 1_000, previousSequenceId: 3 } }))?.kind, 'stored')
  t.equal(log.sm.outcome(log.commit({ kind: 'batch', body: { ...batch('q', 0, 1), publishTime: 1_000, previousSequenceId: 0 } }))?.kind, 'rejected', 'per producer name')
  t.same((await log.sm.read(0, { maxEntries: 10, maxBytes: 1 << 20 })).map((b) => b.envelope.firstSequenceId), [0, 2, 4])
})

t.test('dedup property: whatever the retries, each (producer, sequence id) is stored exactly once, in order', async () => {
  const sendsArb = fc.array(fc.record({ producer: fc.constantFrom('a', 'b', 'c'), retry: fc.boolean(), size: fc.integer({ min: 1, max: 3 }) }), { maxLength: 60 })
  await fc.assert(fc.asyncProperty(sendsArb, async (sends) => {
    const log = new TestPartitionLog()
    log.commit({ kind: 'config', body: dedupOn })
    const next = new Map<string, number>()
    const last = new Map<string, { first: number, size: number }>()
    for (const send of sends) {
      const previous = last.get(send.producer)
      if (send.retry && previous !== undefined) {
        log.publish(batch(send.producer, previous.first, previous.size))
        continue
      }
      const first = next.get(send.producer) ?? 0
      log.publish(batch(send.producer, first, send.size))
      next.set(send.producer, first + send.size)
      last.set(send.producer, { first, size: send.size })
    }
    const stored = await log.sm.read(0, { maxEntries: 1000, maxBytes: 1 << 30 })
    for (const producer of ['a', 'b', 'c']) {
      const seqs = stored.filter((b) => b.envelope.producerName === producer).flatMap((b) => Array.from({ length: b.envelope.messageCount }, (_, i) => b.envelope.firstSequenceId + i))
      const expected = Array.from({ length: next.get(producer) ?? 0 }, (_, i) => i)
      if (JSON.stringify(seqs) !== JSON.stringify(expected)) return false
    }
    return true
  }))
})

t.test('subscriptions: earliest, latest, delete, reset', async (t) => {
  const log = new TestPartitionLog()
  log.publish(batch('p', 0))
  log.publish(batch('p', 1))
  const latestAt = log.commit({ kind: 'subscription', body: { op: 'create', subscription: 'late', type: 'Exclusive', initialPosition: 'Latest' } })
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 'early', type: 'Exclusive', initialPosition: 'Earliest' } })
  log.publish(batch('p', 2), 5_000)
  t.equal(log.sm.cursor('late')?.markDelete, latestAt)
  t.equal(log.sm.backlog('late'), 1)
  t.equal(log.sm.backlog('early'), 3)
  const again = log.commit({ kind: 'subscription', body: { op: 'create', subscription: 'early', type: 'Exclusive', initialPosition: 'Latest' } })
  t.same(log.sm.outcome(again), { kind: 'subscription', created: false }, 'subscribing to an existing subscription keeps its cursor')
  t.equal(log.sm.backlog('early'), 3)

  log.commit({ kind: 'subscription', body: { op: 'reset', subscription: 'late', position: { at: 'earliest' } } })
  t.equal(log.sm.backlog('late'), 3)
  t.equal(log.sm.cursor('late')?.generation, 1)
  log.commit({ kind: 'subscription', body: { op: 'reset', subscription: 'late', position: { at: 'message', index: 2, batchIndex: 0 } } })
  t.equal(log.sm.cursor('late')?.markDelete, 1)
  log.commit({ kind: 'subscription', body: { op: 'reset', subscription: 'late', position: { at: 'publishTime', publishTime: 4_000 } } })
  t.equal(log.sm.backlog('late'), 1, 'seek by publish time')
  log.commit({ kind: 'subscription', body: { op: 'reset', subscription: 'late', position: { at: 'latest' } } })
  t.equal(log.sm.backlog('late'), 0)

  log.commit({ kind: 'subscription', body: { op: 'delete', subscription: 'late' } })
  t.equal(log.sm.cursor('late'), undefined)
  const bad = log.commit({ kind: 'subscription', body: { op: 'delete', subscription: 'late' } })
  t.match(log.sm.outcome(bad), { kind: 'rejected', error: { code: 'UNKNOWN_SUBSCRIPTION' } })
  t.throws(() => log.sm.backlog('late'), { code: 'UNKNOWN_SUBSCRIPTION' })
})

t.test('cursor updates: acks fold into mark-delete across non-message entries; stale generations are ignored', async (t) => {
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } })
  const m = [log.publish(batch('p', 0)), log.commitNoop(), log.publish(batch('p', 1)), log.publish(batch('p', 2)), log.publish(batch('p', 3))]
  const [m1, , m2, m3, m4] = m
  log.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: 0, ackedRanges: [[m3, m4]] } })
  t.same(log.sm.cursor('s'), { subscription: 's', type: 'Exclusive', generation: 0, markDelete: 0, ackedRanges: [[m3, m4]] })
  t.equal(log.sm.backlog('s'), 2)
  log.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: 0, ackedRanges: [[m1, m1], [m2, m2]] } })
  t.equal(log.sm.cursor('s')?.markDelete, m4, 'the no-op between m1 and m2 is no hole')
  t.same(log.sm.cursor('s')?.ackedRanges, [])
  log.commit({ kind: 'subscription', body: { op: 'reset', subscription: 's', position: { at: 'earliest' } } })
  const stale = log.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: m4, ackedRanges: [] } })
  t.same(log.sm.outcome(stale), { kind: 'cursor', applied: false })
  t.equal(log.sm.backlog('s'), 4)
  const beyond = log.commit({ kind: 'cursor', body: { subscription: 's', generation: 1, markDelete: 1000, ackedRanges: [] } })
  t.match(log.sm.outcome(beyond), { kind: 'rejected', error: { code: 'INVALID_ARGUMENT' } })
  const inverted = log.commit({ kind: 'cursor', body: { subscription: 's', generation: 1, markDelete: 0, ackedRanges: [[m4, m3]] } })
  t.match(log.sm.outcome(inverted), { kind: 'rejected', error: { code: 'INVALID_ARGUMENT' } }, 'an inverted range is rejected, not a crash')
})

t.test('cursor property: the acknowledged set never shrinks without a reset', async () => {
  const op = fc.oneof(
    fc.record({ type: fc.constant('publish' as const) }),
    fc.record({ type: fc.constant('noop' as const) }),
    fc.record({ type: fc.constant('ack' as const), markDelete: fc.nat({ max: 40 }), ranges: fc.array(fc.tuple(fc.nat({ max: 40 }), fc.nat({ max: 4 })), { maxLength: 4 }), stale: fc.boolean() }),
    fc.record({ type: fc.constant('reset' as const) })
  )
  fc.assert(fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
    const log = new TestPartitionLog()
    log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } })
    const messages: number[] = []
    let seq = 0
    let acked = new Set<number>()
    for (const o of ops) {
      if (o.type === 'publish') messages.push(log.publish(batch('p', seq++)))
      else if (o.type === 'noop') log.commitNoop()
      else if (o.type === 'reset') {
        log.commit({ kind: 'subscription', body: { op: 'reset', subscription: 's', position: { at: 'earliest' } } })
        acked = new Set()
        continue
      } else {
        const cursor = log.sm.cursor('s')!
        const markDelete = Math.min(o.markDelete, log.lastIndex)
        const generation = o.stale ? cursor.generation + 1 : cursor.generation
        log.commit({ kind: 'cursor', body: { subscription: 's', generation, markDelete, ackedRanges: o.ranges.map(([from, len]) => [from, from + len]) } })
      }
      const cursor = log.sm.cursor('s')!
      const now = new Set(messages.filter((i) => i <= cursor.markDelete || cursor.ackedRanges.some(([a, b]) => a <= i && i <= b)))
      for (const i of acked) if (!now.has(i)) return false
      for (let r = 1; r < cursor.ackedRanges.length; r++) if (cursor.ackedRanges[r][0] <= cursor.ackedRanges[r - 1][1] + 1) return false
      if (cursor.ackedRanges.length > 0 && cursor.ackedRanges[0][0] <= cursor.markDelete) return false
      acked = now
    }
    return true
  }))
})

t.test('trim never drops unacknowledged messages; retention decides the trim point', async (t) => {
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } })
  const ids = [log.publish(batch('p', 0), 1_000), log.publish(batch('p', 1), 2_000), log.publish(batch('p', 2), 3_000)]
  t.equal(log.sm.retentionTrimPoint(10_000), 0, 'nothing acknowledged yet')
  log.commit({ kind: 'trim', body: { upTo: ids[2] } })
  t.equal(log.sm.firstRetainedIndex, 1, 'clamped to the subscription mark-delete')
  log.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: ids[1], ackedRanges: [] } })
  t.equal(log.sm.retentionTrimPoint(10_000), ids[1], 'default retention keeps nothing acknowledged')
  log.commit({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, retentionTimeMinutes: -1, retentionSizeMB: -1 } })
  t.equal(log.sm.retentionTrimPoint(10_000), 0, 'infinite retention')
  log.commit({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, retentionTimeMinutes: 1, retentionSizeMB: -1 } })
  t.equal(log.sm.retentionTrimPoint(61_500), ids[0], 'time retention drops acknowledged batches older than 1 minute')
  log.commit({ kind: 'trim', body: { upTo: log.sm.retentionTrimPoint(61_500) } })
  t.same((await log.sm.read(0, { maxEntries: 10, maxBytes: 1 << 20 })).map((b) => b.index), [ids[1], ids[2]])
  log.commit({ kind: 'subscription', body: { op: 'delete', subscription: 's' } })
  log.commit({ kind: 'config', body: DEFAULT_PARTITION_CONFIG })
  log.commit({ kind: 'trim', body: { upTo: log.sm.retentionTrimPoint(61_500) } })
  t.same(await log.sm.read(0, { maxEntries: 10, maxBytes: 1 << 20 }), [], 'a topic with no subscriptions keeps nothing')
  t.equal(log.sm.stats().retainedMessages, 0)
})

t.test('snapshot/restore: a restored replica continues exactly like the original', async () => {
  const op = fc.oneof(
    fc.constant({ kind: 'publish' as const }),
    fc.constant({ kind: 'sub' as const }),
    fc.constant({ kind: 'ack' as const }),
    fc.constant({ kind: 'trim' as const })
  )
  await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 20 }), async (before, after) => {
    const original = new TestPartitionLog()
    original.commit({ kind: 'config', body: dedupOn })
    let seq = 0
    const run = (log: TestPartitionLog, o: { kind: string }): void => {
      if (o.kind === 'publish') log.publish(batch(`p${seq % 3}`, seq++))
      if (o.kind === 'sub') log.commit({ kind: 'subscription', body: { op: 'create', subscription: `s${seq % 2}`, type: 'Exclusive', initialPosition: 'Earliest' } })
      if (o.kind === 'ack' && log.sm.cursor('s0') !== undefined) log.commit({ kind: 'cursor', body: { subscription: 's0', generation: 0, markDelete: log.lastIndex, ackedRanges: [] } })
      if (o.kind === 'trim') log.commit({ kind: 'trim', body: { upTo: log.sm.retentionTrimPoint(0) } })
    }
    for (const o of before) run(original, o)
    const replica = new TestPartitionLog()
    replica.entries.push(...original.entries)
    replica.sm.restore(original.sm.snapshot(), { index: original.lastIndex, term: 1, config: { voters: [], learners: [] } })
    const seqAtSnapshot = seq
    for (const o of after) run(original, o)
    seq = seqAtSnapshot
    for (const entry of original.entries.slice(replica.entries.length)) {
      replica.entries.push(entry)
      replica.sm.apply(entry)
    }
    const a = Buffer.from(original.sm.snapshot())
    const b = Buffer.from(replica.sm.snapshot())
    const readsMatch = JSON.stringify((await original.sm.read(0, { maxEntries: 1000, maxBytes: 1 << 30 })).map((x) => x.index)) ===
      JSON.stringify((await replica.sm.read(0, { maxEntries: 1000, maxBytes: 1 << 30 })).map((x) => x.index))
    return a.equals(b) && readsMatch
  }))
})

t.test('applying out of order breaks an invariant and raises', async (t) => {
  const sm = new PartitionStateMachine({ topic: 't', partition: -1, logger: silentLogger })
  sm.apply({ index: 5, term: 1, kind: 0, data: new Uint8Array() })
  t.throws(() => sm.apply({ index: 5, term: 1, kind: 0, data: new Uint8Array() }), { code: 'BROKER_INVARIANT' })
  sm.apply({ index: 6, term: 1, kind: 42, data: new Uint8Array([1]) })
  t.match(sm.outcome(6), { kind: 'rejected', error: { code: 'MALFORMED_MESSAGE' } })
})

t.test('fuzz: any well-formed entry sequence applies without throwing, identically on two replicas', async () => {
  const nat = fc.nat({ max: 60 })
  const name = fc.constantFrom('s1', 's2', 's3')
  const entryArb = fc.oneof(
    fc.record({ producer: fc.constantFrom('a', 'b'), seq: nat, count: fc.integer({ min: 1, max: 3 }), time: nat }).map((b) => ({ kind: 'batch' as const, body: { ...batch(b.producer, b.seq, b.count), publishTime: b.time } })),
    fc.record({ subscription: name, generation: fc.nat({ max: 2 }), markDelete: nat, ackedRanges: fc.array(fc.tuple(nat, nat), { maxLength: 3 }) }).map((body) => ({ kind: 'cursor' as const, body })),
    fc.record({ subscription: name, type: fc.constantFrom('Exclusive' as const, 'Shared' as const), initialPosition: fc.constantFrom('Earliest' as const, 'Latest' as const) }).map((b) => ({ kind: 'subscription' as const, body: { op: 'create' as const, ...b } })),
    name.map((subscription) => ({ kind: 'subscription' as const, body: { op: 'delete' as const, subscription } })),
    fc.record({ subscription: name, index: nat }).map((b) => ({ kind: 'subscription' as const, body: { op: 'reset' as const, subscription: b.subscription, position: { at: 'message' as const, index: b.index, batchIndex: 0 } } })),
    fc.record({ deduplication: fc.boolean(), retentionTimeMinutes: fc.integer({ min: -1, max: 2 }), retentionSizeMB: fc.integer({ min: -1, max: 2 }), maxMessageSize: fc.integer({ min: 1, max: 1 << 20 }) }).map((body) => ({ kind: 'config' as const, body })),
    nat.map((upTo) => ({ kind: 'trim' as const, body: { upTo } }))
  )
  await fc.assert(fc.asyncProperty(fc.array(entryArb, { maxLength: 50 }), async (entries) => {
    const a = new TestPartitionLog()
    const b = new TestPartitionLog()
    for (const entry of entries) {
      a.commit(entry)
      b.commit(entry)
      for (const sub of a.sm.subscriptions()) a.sm.backlog(sub.subscription)
    }
    await a.sm.read(0, { maxEntries: 100, maxBytes: 1 << 20 })
    return Buffer.from(a.sm.snapshot()).equals(Buffer.from(b.sm.snapshot()))
  }))
})

t.test('compaction follows the trim point; a snapshot taken past its index skips what it holds when re-applied', async (t) => {
  const original = new TestPartitionLog()
  original.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } })
  for (let i = 0; i < 6; i++) original.publish(batch('p', i))
  t.equal(original.sm.compactableIndex(), 0, 'nothing trimmed: the whole log is needed')
  original.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: 4, ackedRanges: [] } })
  original.commit({ kind: 'trim', body: { upTo: 100 } })
  t.equal(original.sm.compactableIndex(), 4, 'the trim is clamped to the mark-delete, and so is compaction')
  const snapshotAt = original.sm.compactableIndex()
  const data = original.sm.snapshot()
  original.publish(batch('p', 6))
  const replica = new TestPartitionLog()
  replica.entries.push(...original.entries)
  replica.sm.restore(data, { index: snapshotAt, term: 1, config: { voters: [], learners: [] } })
  for (const entry of original.entries.filter((e) => e.index > snapshotAt)) replica.sm.apply(entry)
  t.same(Buffer.from(replica.sm.snapshot()), Buffer.from(original.sm.snapshot()), 'the same state as the original after re-applying')
  t.same((await replica.sm.read(0, { maxEntries: 10, maxBytes: 1 << 20 })).map((b) => b.index), [5, 6, 7, 10], 'every retained message is still readable')
  t.throws(() => { replica.sm.apply(original.entries[1] as (typeof original.entries)[number]) }, /applied 2 after/, 'an entry below the snapshot is a bug, not a skip')
})
