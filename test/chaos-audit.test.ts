// The chaos test's own checks, on made-up outcomes and reads: each one finds the violation it
// is there for, and the fault schedule is a function of its seed.
import t from 'tap'
import { MessageId } from '@blazar/protocol'
import { auditRead, missingFrom, sendText, type SendOutcome } from './support/chaos-audit.ts'
import { faultSchedule, FAULT_DURATION_MS } from './support/chaos-schedule.ts'

const acked = (producer: number, seq: number, id: MessageId): SendOutcome => ({ producer, seq, text: sendText(producer, seq), id, error: null })
const failed = (producer: number, seq: number, error: string): SendOutcome => ({ producer, seq, text: sendText(producer, seq), id: null, error })

t.test('a complete, ordered read has no findings', async (t) => {
  const outcomes = [acked(0, 0, new MessageId(0, 5, 0)), acked(0, 1, new MessageId(0, 5, 1)), acked(1, 0, new MessageId(1, 3, 0))]
  const findings = auditRead(outcomes, outcomes.map((outcome) => ({ id: outcome.id as MessageId, text: outcome.text })))
  t.same(findings, { notReadAtId: [], phantoms: [], duplicates: [], orderViolations: [], unknownOutcomeStored: 0 })
})

t.test('an acknowledged message missing or read at another ID is reported', async (t) => {
  const outcomes = [acked(0, 0, new MessageId(0, 5, 0)), acked(0, 1, new MessageId(0, 6, 0))]
  const findings = auditRead(outcomes, [{ id: new MessageId(0, 5, 0), text: 'p0-1' }])
  t.same(findings.notReadAtId, [{ text: 'p0-0', id: '5:0:0', readAs: 'p0-1' }, { text: 'p0-1', id: '6:0:0', readAs: null }])
  t.same(findings.duplicates, [])
})

t.test('phantoms: unknown texts and sends refused before sending; unknown outcomes are allowed', async (t) => {
  const outcomes = [failed(0, 0, 'BACKPRESSURE'), failed(0, 1, 'TIMEOUT')]
  const findings = auditRead(outcomes, [
    { id: new MessageId(0, 1, 0), text: 'p0-0' },
    { id: new MessageId(0, 2, 0), text: 'p0-1' },
    { id: new MessageId(0, 3, 0), text: 'nobody sent this' }
  ])
  t.same(findings.phantoms.map((phantom) => phantom.text), ['p0-0', 'nobody sent this'])
  t.equal(findings.unknownOutcomeStored, 1)
})

t.test('a message read at two IDs is a duplicate', async (t) => {
  const findings = auditRead([acked(0, 0, new MessageId(2, 4, 0))], [{ id: new MessageId(2, 4, 0), text: 'p0-0' }, { id: new MessageId(2, 9, 0), text: 'p0-0' }])
  t.same(findings.duplicates, [{ text: 'p0-0', ids: ['4:2:0', '9:2:0'] }])
})

t.test('order is per producer and partition, by acknowledged ID', async (t) => {
  const outcomes = [
    acked(2, 311, new MessageId(2, 179, 0)),
    acked(2, 317, new MessageId(2, 178, 1)),
    // other producers and partitions do not constrain producer 2 on partition 2
    acked(1, 1, new MessageId(2, 100, 0)),
    acked(2, 1, new MessageId(0, 500, 0))
  ]
  t.same(auditRead(outcomes, []).orderViolations, [{ producer: 2, partition: 2, storedFirst: 'seq 317 at 178:2:1', sentFirst: 'seq 311 at 179:2:0' }])
})

t.test('an out-of-order message read at another ID too names that copy', async (t) => {
  const outcomes = [acked(0, 1, new MessageId(0, 12, 0)), acked(0, 2, new MessageId(0, 11, 0))]
  const read = [{ id: new MessageId(0, 10, 0), text: 'p0-1' }, { id: new MessageId(0, 11, 0), text: 'p0-2' }, { id: new MessageId(0, 12, 0), text: 'p0-1' }]
  t.same(auditRead(outcomes, read).orderViolations, [{ producer: 0, partition: 0, storedFirst: 'seq 2 at 11:0:0', sentFirst: 'seq 1 at 12:0:0', sentFirstAlsoAt: ['10:0:0'] }])
})

t.test('the Shared group must have received every acknowledged ID', async (t) => {
  const outcomes = [acked(0, 0, new MessageId(0, 1, 0)), acked(0, 1, new MessageId(1, 1, 0)), failed(0, 2, 'TIMEOUT')]
  t.same(missingFrom(outcomes, new Set(['1:0:0'])), ['p0-1 at 1:1:0'])
})

t.test('the fault schedule is a function of the seed, within its bounds', async (t) => {
  const options = { phaseMs: 30_000, nodes: 3, kinds: ['kill9', 'pause', 'isolate'] as const }
  t.same(faultSchedule(7, options), faultSchedule(7, options))
  t.not(JSON.stringify(faultSchedule(7, options)), JSON.stringify(faultSchedule(8, options)))
  const firsts = new Set([1, 2, 3, 4, 5].map((seed) => faultSchedule(seed, options)[0]?.atMs))
  t.ok(firsts.size > 1, 'different seeds start differently')
  for (const fault of faultSchedule(7, options)) {
    const [min, max] = FAULT_DURATION_MS[fault.kind]
    t.ok(fault.atMs < 30_000 && fault.node >= 0 && fault.node < 3 && fault.durationMs >= min && fault.durationMs < max, JSON.stringify(fault))
  }
  t.same(new Set(faultSchedule(7, { ...options, kinds: ['pause'] }).map((fault) => fault.kind)), new Set(['pause']))
})
