// Dead letters through the partition: a `deadLetter` entry acknowledges and queues messages in
// one step (so a second request for a message queues nothing), the outbox holds back
// retention, survives a snapshot, is trimmed by `deadLetterForwarded` and is bounded; the
// leader's forwarder publishes in outbox order with the position as sequence id, retries on
// the virtual clock, trims what the sink confirmed, and a new leader resends from the first
// untrimmed entry with the same sequence ids.
import t from 'tap'
import { SeededRandom, VirtualClock, silentLogger, type Env } from '@blazar/env'
import { DEFAULT_PARTITION_CONFIG, ORIGIN_MESSAGE_ID, REAL_TOPIC, encodePartitionEntry, errorFromWire, type PartitionEntry } from '@blazar/protocol'
import { DeadLetterForwarder, MAX_DEAD_LETTER_OUTBOX_ENTRIES, PartitionStateMachine, deadLetterProducerName, type DeadLetterRecord } from '../src/index.ts'
import { TestPartitionLog, batch, codecs } from './fixtures/partition-log.ts'

const TOPIC = 'persistent://public/default/t-partition-0'
const DLQ = 'persistent://public/default/t-sub-DLQ'

function withSubscription (): TestPartitionLog {
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 'sub', type: 'Shared', initialPosition: 'Earliest' } })
  return log
}

const deadLetter = (messages: Array<[number, number]>, generation = 0): PartitionEntry => ({ kind: 'deadLetter', body: { subscription: 'sub', generation, deadLetterTopic: DLQ, messages } })

t.test('one entry acknowledges and queues; a second request for the same message queues nothing', async (t) => {
  const log = withSubscription()
  const a = log.publish(batch('p', 0))
  const b = log.publish(batch('p', 1, 3))
  const first = log.commit(deadLetter([[a, -1], [b, 1]]))
  t.same(log.sm.outcome(first), { kind: 'dead-letter', positions: [1, 2], alreadyAcknowledged: 0, stale: false })
  t.same(log.sm.deadLetterOutbox().map((e) => [e.position, e.index, e.batchIndex, e.deadLetterTopic]), [[1, a, 0, DLQ], [2, b, 1, DLQ]])
  const cursor = log.sm.cursor('sub')!
  t.equal(cursor.markDelete, a, 'the whole batch a is acknowledged (folded into mark-delete)')
  t.same(cursor.batchAcks, [[b, [1]]], 'one message of b is acknowledged')
  const again = log.commit(deadLetter([[a, -1], [b, 1], [b, 2]]))
  t.same(log.sm.outcome(again), { kind: 'dead-letter', positions: [3], alreadyAcknowledged: 2, stale: false }, 'only b:2 is new')
  t.equal(log.sm.cursor('sub')!.markDelete, a)
  t.same(log.sm.cursor('sub')!.batchAcks, [[b, [1, 2]]])
  const stale = log.commit(deadLetter([[b, 0]], 5))
  t.same(log.sm.outcome(stale), { kind: 'dead-letter', positions: [], alreadyAcknowledged: 0, stale: true })
  const bad = log.commit(deadLetter([[b, 0], [b + 100, 0]]))
  t.equal(log.sm.outcome(bad)?.kind, 'rejected', 'a message not in the log rejects the whole entry')
  t.equal(log.sm.deadLetterOutbox().length, 3, 'and nothing of it was queued')
  t.same(log.sm.cursor('sub')!.batchAcks, [[b, [1, 2]]], 'nor acknowledged')
})

t.test('retention keeps every batch the outbox names; deadLetterForwarded trims the outbox and lets retention go on', async (t) => {
  const log = withSubscription()
  const indexes = [0, 1, 2, 3].map((i) => log.publish(batch('p', i)))
  log.commit(deadLetter([[indexes[1], -1]]))
  log.commit({ kind: 'cursor', body: { subscription: 'sub', generation: 0, markDelete: indexes[3], ackedRanges: [] } })
  t.equal(log.sm.retentionTrimPoint(0), indexes[1] - 1, 'the leader proposes no trim past the dead letter')
  log.commit({ kind: 'trim', body: { upTo: indexes[3] } })
  t.equal(log.sm.firstRetainedIndex, indexes[1], 'a trim is clamped below it')
  const [read] = await log.sm.read(indexes[1], { maxEntries: 1, maxBytes: 1 })
  t.equal(read.index, indexes[1], 'still readable')
  const forwarded = log.commit({ kind: 'deadLetterForwarded', body: { subscription: 'sub', upTo: 1 } })
  t.same(log.sm.outcome(forwarded), { kind: 'dead-letter-forwarded', removed: 1 })
  t.equal(log.sm.retentionTrimPoint(0), indexes[3])
})

t.test('the outbox is in the snapshot: a restored replica continues with the same positions', async (t) => {
  const log = withSubscription()
  const a = log.publish(batch('p', 0))
  const b = log.publish(batch('p', 1))
  log.commit(deadLetter([[a, -1]]))
  log.commit({ kind: 'deadLetterForwarded', body: { subscription: 'sub', upTo: 1 } })
  log.commit(deadLetter([[b, -1]]))
  const restored = new PartitionStateMachine({ topic: TOPIC, partition: 0, logger: silentLogger })
  restored.restore(log.sm.snapshot(), { index: log.lastIndex, term: 1 } as never)
  t.same(restored.deadLetterOutbox(), log.sm.deadLetterOutbox())
  const c = log.publish(batch('p', 2))
  const entry = encodePartitionEntry(deadLetter([[c, -1]]))
  const logEntry = { index: log.lastIndex + 1, term: 1, ...entry }
  log.entries.push(logEntry)
  log.sm.apply(logEntry)
  restored.apply({ ...log.entries[c - 1] })
  restored.apply(logEntry)
  t.same(restored.deadLetterOutbox().map((e) => e.position), [2, 3], 'positions keep growing after the restore')
  t.same(restored.deadLetterOutbox(), log.sm.deadLetterOutbox())
})

t.test(`the outbox holds at most ${MAX_DEAD_LETTER_OUTBOX_ENTRIES} entries: past it a deadLetter entry is LIMIT_EXCEEDED and acknowledges nothing`, async (t) => {
  const log = withSubscription()
  const big = log.publish(batch('p', 0, 1_000))
  for (let i = 0; i < MAX_DEAD_LETTER_OUTBOX_ENTRIES / 1_000; i++) {
    const index = log.publish(batch('p', 1_000 * (i + 1), 1_000))
    log.commit(deadLetter([[index, -1]]))
  }
  t.equal(log.sm.deadLetterOutbox().length, MAX_DEAD_LETTER_OUTBOX_ENTRIES)
  const over = log.commit(deadLetter([[big, 0]]))
  const outcome = log.sm.outcome(over)
  t.equal(outcome?.kind === 'rejected' ? errorFromWire(outcome.error).code : outcome?.kind, 'LIMIT_EXCEEDED')
  t.same(log.sm.cursor('sub')!.batchAcks, [], 'nothing acknowledged')
})

/** A leader's forwarder over a TestPartitionLog: proposals are committed at once. */
function forwarderOn (log: TestPartitionLog, clock: VirtualClock, publish: (record: DeadLetterRecord) => Promise<void>): DeadLetterForwarder {
  const env: Env = { clock, random: new SeededRandom(1), logger: silentLogger }
  return new DeadLetterForwarder({ env, sm: log.sm, sink: { publish }, codecs, propose: async (entry) => log.commit(entry) })
}

async function settle (clock: VirtualClock, to: number): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
  while (clock.now() < to) {
    await clock.runUntil(Math.min(to, clock.now() + 10))
    for (let i = 0; i < 20; i++) await Promise.resolve()
  }
}

t.test('the forwarder publishes in order with outbox positions as sequence ids, retries failures on the clock, and trims what was confirmed', async (t) => {
  const log = withSubscription()
  log.commit({ kind: 'config', body: DEFAULT_PARTITION_CONFIG })
  const a = log.publish(batch('p', 0))
  const b = log.publish(batch('p', 1))
  const clock = new VirtualClock()
  const published: Array<{ at: number, record: DeadLetterRecord }> = []
  let failuresLeft = 2
  const forwarder = forwarderOn(log, clock, async (record) => {
    published.push({ at: clock.now(), record })
    if (failuresLeft-- > 0) throw new Error('refused')
  })
  forwarder.start()
  log.commit(deadLetter([[a, -1]]))
  log.commit(deadLetter([[b, -1]]))
  await settle(clock, 1_000)
  t.same(published.map((p) => [p.at, p.record.sequenceId]), [[0, 1], [100, 1], [300, 1], [300, 2]], 'retried after 100 and 200 ms, then in order')
  const record = published[3].record
  t.equal(record.topic, DLQ)
  t.equal(record.producerName, deadLetterProducerName(TOPIC, 'sub'))
  t.same(record.properties, { [REAL_TOPIC]: TOPIC, [ORIGIN_MESSAGE_ID]: `${b}:0:0` })
  t.same([...record.payload], [...new Uint8Array(10).fill(0)], 'the original payload')
  t.same(log.sm.deadLetterOutbox(), [], 'both trimmed by deadLetterForwarded')
  forwarder.stop()
})

t.test('a new leader resends from the first untrimmed entry, with the same sequence ids', async (t) => {
  const log = withSubscription()
  const a = log.publish(batch('p', 0))
  const clock = new VirtualClock()
  const old: number[] = []
  const oldLeader = forwarderOn(log, clock, async (record) => {
    old.push(record.sequenceId)
    return await new Promise<void>(() => {})
  })
  oldLeader.start()
  log.commit(deadLetter([[a, -1]]))
  await settle(clock, 50)
  oldLeader.stop()
  t.same(old, [1], 'published, never answered, then deposed')
  const resent: number[] = []
  const newLeader = forwarderOn(log, clock, async (record) => { resent.push(record.sequenceId) })
  newLeader.start()
  await settle(clock, 100)
  t.same(resent, [1], 'the same sequence id: the dead-letter topic drops it if the first one was stored')
  t.same(log.sm.deadLetterOutbox(), [])
})
