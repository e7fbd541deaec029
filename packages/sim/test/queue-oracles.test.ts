// Each queue oracle fires on a hand-made history that breaks it, and stays quiet on one that
// does not: a lost acknowledged send, phantom deliveries (a definitely failed send, bytes no
// producer sent), Exclusive order and skips, producer send order (in sequence order, whatever
// order the answers came in), Key_Shared per-key order, a cursor moving back, and the
// final checks (acknowledged but never stored, a cursor covering what no consumer acknowledged).
import t from 'tap'
import type { LogEntry } from '@blazar/env'
import { CompressionCodecs, encodeBatch, encodePartitionEntry, type BatchEnvelope, type DeliveredEntry } from '@blazar/protocol'
import { QueueOracles, type SendRecord } from '../src/index.ts'
import { hashBytes } from '../src/hash.ts'

const codecs = new CompressionCodecs()

function batch (producer: string, first: number, count = 1): BatchEnvelope {
  const messages = Array.from({ length: count }, (_, i) => ({ properties: {}, payload: new TextEncoder().encode(`${producer}.${first + i}`), eventTime: 0, sequenceId: first + i }))
  return encodeBatch(messages, { producerName: producer }, codecs)
}

function sendOf (envelope: BatchEnvelope): SendRecord {
  return {
    key: `${envelope.producerName}#${envelope.firstSequenceId}`, producer: envelope.producerName, firstSequenceId: envelope.firstSequenceId,
    lastSequenceId: envelope.lastSequenceId, messageCount: envelope.messageCount, bodyHash: hashBytes(envelope.body), status: 'pending',
    definite: true, attempts: 1, messageIndex: null, invokedTime: 0, completedTime: null
  }
}

function logEntry (index: number, envelope: BatchEnvelope): LogEntry {
  const { kind, data } = encodePartitionEntry({ kind: 'batch', body: { ...envelope, publishTime: 1 } })
  return { index, term: 1, kind, data }
}

const noop = (index: number): LogEntry => ({ index, term: 1, kind: 0, data: new Uint8Array() })

function delivery (index: number, envelope: BatchEnvelope): DeliveredEntry {
  return { messageId: { partition: 0, index, batchIndex: 0 }, redeliveryCount: 0, publishTime: 1, batch: envelope }
}

function harness () {
  const reports: Array<[string, string]> = []
  const oracles = new QueueOracles((invariant, message) => { reports.push([invariant, message]) })
  return { oracles, reports, invariants: () => reports.map(([invariant]) => invariant) }
}

t.test('a clean history passes every check', async (t) => {
  const { oracles, reports } = harness()
  const sub = oracles.subscription('ex', 'Exclusive')
  const a = batch('p1', 0, 2)
  const b = batch('p1', 2)
  const sa = sendOf(a)
  const sb = sendOf(b)
  oracles.sendStarted(sa)
  oracles.entryApplied(noop(1))
  oracles.entryApplied(logEntry(2, a))
  oracles.sendAcked(sa, 2, 10)
  oracles.sendStarted(sb)
  oracles.sendAcked(sb, 3, 11)
  oracles.entryApplied(logEntry(3, b))
  oracles.delivered(sub, 'c', delivery(2, a))
  oracles.delivered(sub, 'c', delivery(3, b))
  oracles.delivered(sub, 'c', delivery(2, a))
  sub.cumulativeTo = 3
  oracles.cursorsApplied('n1', 4, [{ subscription: 'ex', type: 'Exclusive', generation: 0, markDelete: 3, ackedRanges: [], batchAcks: [] }])
  t.ok(oracles.allDelivered())
  t.equal(oracles.finalCheck(() => ({ subscription: 'ex', type: 'Exclusive', generation: 0, markDelete: 3, ackedRanges: [], batchAcks: [] })), null)
  t.same(reports, [])
})

t.test('an acknowledged index that commits another entry is a lost message (either order)', async (t) => {
  const early = harness()
  const a = batch('p1', 0)
  const sa = sendOf(a)
  early.oracles.sendStarted(sa)
  early.oracles.sendAcked(sa, 5, 1)
  for (let i = 1; i <= 5; i++) early.oracles.entryApplied(noop(i))
  t.same(early.invariants(), ['queue-lost-message'])
  t.match(early.reports[0][1], /acknowledged as 0:5:0, but the committed entry at 5 is a non-batch entry/)

  const late = harness()
  late.oracles.sendStarted(sa)
  late.oracles.entryApplied(logEntry(1, batch('p2', 0)))
  late.oracles.sendAcked(sa, 1, 1)
  t.same(late.invariants(), ['queue-phantom-message', 'queue-lost-message'], 'p2 never sent, and p1 acked at its index')
})

t.test('phantoms: a definitely failed send that is delivered, bytes nobody sent', async (t) => {
  const { oracles, invariants } = harness()
  const sub = oracles.subscription('sh', 'Shared')
  const a = batch('p1', 0)
  const sa = sendOf(a)
  oracles.sendStarted(sa)
  oracles.sendFailed(sa, 5)
  oracles.entryApplied(logEntry(1, a))
  t.same(invariants(), ['queue-phantom-message'], 'stored although every attempt was refused before proposing')
  const unknown = harness()
  const su = sendOf(a)
  unknown.oracles.sendStarted(su)
  su.definite = false
  unknown.oracles.sendFailed(su, 5)
  unknown.oracles.entryApplied(logEntry(1, a))
  unknown.oracles.delivered(unknown.oracles.subscription('sh', 'Shared'), 'c', delivery(1, a))
  t.same(unknown.invariants(), [], 'an unknown outcome may be stored and delivered')
  oracles.delivered(sub, 'c', delivery(1, batch('p1', 7)))
  t.equal(invariants()[1], 'queue-phantom-message', 'a delivery that is not the committed batch at its index')
})

t.test('Exclusive order: first deliveries increase and skip no stored batch', async (t) => {
  const { oracles, invariants, reports } = harness()
  const sub = oracles.subscription('ex', 'Exclusive')
  const batches = [batch('p1', 0), batch('p1', 1), batch('p1', 2)]
  batches.forEach((b, i) => {
    oracles.sendStarted(sendOf(b))
    oracles.entryApplied(logEntry(i + 1, b))
  })
  oracles.delivered(sub, 'c', delivery(1, batches[0]))
  oracles.delivered(sub, 'c', delivery(3, batches[2]))
  t.same(invariants(), ['queue-order'])
  t.match(reports[0][1], /first received 3 before the committed batch at 2/)
  oracles.delivered(sub, 'c', delivery(2, batches[1]))
  t.equal(invariants()[1], 'queue-order', '2 first delivered after 3')
  const shared = harness()
  const sh = shared.oracles.subscription('sh', 'Shared')
  batches.forEach((b, i) => {
    shared.oracles.sendStarted(sendOf(b))
    shared.oracles.entryApplied(logEntry(i + 1, b))
  })
  shared.oracles.delivered(sh, 'c', delivery(3, batches[2]))
  shared.oracles.delivered(sh, 'c', delivery(1, batches[0]))
  t.same(shared.invariants(), [], 'Shared has no order guarantee')
})

t.test('one producer\'s acknowledged MessageIds grow with its sequence ids', async (t) => {
  const { oracles, invariants } = harness()
  const a = sendOf(batch('p1', 0))
  const b = sendOf(batch('p1', 1))
  oracles.sendStarted(a)
  oracles.sendAcked(a, 9, 1)
  oracles.sendStarted(b)
  oracles.sendAcked(b, 7, 2)
  t.same(invariants(), ['queue-order'])
})

t.test('send order holds whatever order the answers come in: an earlier send answered later must still be stored earlier', async (t) => {
  const inOrder = harness()
  const a = sendOf(batch('p1', 0))
  const b = sendOf(batch('p1', 1))
  const c = sendOf(batch('p1', 2))
  for (const send of [a, b, c]) inOrder.oracles.sendStarted(send)
  inOrder.oracles.sendAcked(b, 5, 1)
  inOrder.oracles.sendAcked(a, 4, 2)
  inOrder.oracles.sendAcked(c, 6, 3)
  t.same(inOrder.invariants(), [], 'answered b, a, c but stored a < b < c')

  const resentAfter = harness()
  for (const send of [a, b]) resentAfter.oracles.sendStarted(send)
  resentAfter.oracles.sendAcked(b, 5, 1)
  resentAfter.oracles.sendAcked(a, 7, 2)
  t.same(resentAfter.invariants(), ['queue-order'], 'the earlier send stored after the later one (issue 15 bug 2)')
  t.match(resentAfter.reports[0][1], /send p1#0 was acknowledged at 7, not before its later send p1#1 at 5/)
})

t.test('Key_Shared: per key, first deliveries follow the log; other keys may overtake', async (t) => {
  const { oracles, reports, invariants } = harness()
  const sub = oracles.subscription('ks', 'Key_Shared')
  const keyed = (first: number, key: string): BatchEnvelope => encodeBatch([{ properties: {}, payload: new Uint8Array([first]), eventTime: 0, sequenceId: first, key }], { producerName: 'p1' }, codecs)
  const k0a = keyed(0, 'k0')
  const k1 = keyed(1, 'k1')
  const k0b = keyed(2, 'k0')
  for (const [index, envelope] of [[1, k0a], [2, k1], [3, k0b]] as const) {
    oracles.sendStarted(sendOf(envelope))
    oracles.entryApplied(logEntry(index, envelope))
  }
  oracles.delivered(sub, 'ks-1', delivery(2, k1))
  oracles.delivered(sub, 'ks-2', delivery(1, k0a))
  t.same(reports, [], 'k1 overtaking k0 is allowed')
  oracles.delivered(sub, 'ks-2', delivery(3, k0b))
  oracles.delivered(sub, 'ks-2', delivery(1, k0a))
  t.same(reports, [], 'a redelivery is not a first delivery')
  const late = harness()
  const lateSub = late.oracles.subscription('ks', 'Key_Shared')
  for (const [index, envelope] of [[1, k0a], [3, k0b]] as const) {
    late.oracles.sendStarted(sendOf(envelope))
    late.oracles.entryApplied(logEntry(index, envelope))
  }
  late.oracles.delivered(lateSub, 'ks-1', delivery(3, k0b))
  late.oracles.delivered(lateSub, 'ks-2', delivery(1, k0a))
  t.same(late.invariants(), ['queue-order'])
  t.match(late.reports[0][1], /first received 1 of key k0 after 3 of that key/)
  t.same(invariants(), [])
})

t.test('a cursor moving back or reset without a seek, per replica', async (t) => {
  const { oracles, invariants } = harness()
  const cursor = (markDelete: number, generation = 0) => [{ subscription: 'ex', type: 'Exclusive' as const, generation, markDelete, ackedRanges: [], batchAcks: [] }]
  oracles.cursorsApplied('n1', 5, cursor(4))
  oracles.cursorsApplied('n2', 3, cursor(2))
  oracles.cursorsApplied('n1', 6, cursor(4))
  t.same(invariants(), [], 'replicas are tracked apart')
  oracles.cursorsApplied('n1', 7, cursor(3))
  oracles.cursorsApplied('n2', 8, cursor(1, 1))
  t.same(invariants(), ['queue-cursor-regression', 'queue-cursor-regression'])
  oracles.replicaReset('n1')
  oracles.cursorsApplied('n1', 2, cursor(1))
  t.equal(invariants().length, 2, 'a restarted replica starts over')
})

t.test('final checks: acknowledged but never stored, never delivered, cursor past unacknowledged', async (t) => {
  const missing = harness()
  const a = batch('p1', 0)
  const sa = sendOf(a)
  missing.oracles.sendStarted(sa)
  missing.oracles.sendAcked(sa, 4, 1)
  t.match(missing.oracles.finalCheck(() => undefined), ['queue-lost-message', /is not in the committed log/])

  const undelivered = harness()
  const sub = undelivered.oracles.subscription('ex', 'Exclusive')
  undelivered.oracles.sendStarted(sa)
  undelivered.oracles.entryApplied(logEntry(1, a))
  undelivered.oracles.sendAcked(sa, 1, 1)
  const behind = { subscription: 'ex', type: 'Exclusive' as const, generation: 0, markDelete: 0, ackedRanges: [], batchAcks: [] }
  t.match(undelivered.oracles.finalCheck(() => behind), ['queue-liveness', /was not delivered to ex/])
  t.match(undelivered.oracles.finalCheck(() => ({ ...behind, markDelete: 1 })), ['queue-lost-message', /whose cursor passed it/])
  undelivered.oracles.delivered(sub, 'c', delivery(1, a))
  t.match(undelivered.oracles.finalCheck(() => ({ ...behind, ackedRanges: [[1, 1]] })), ['queue-lost-message', /covers the batch at 1, which no consumer acknowledged/])
  sub.acked.add(1)
  t.equal(undelivered.oracles.finalCheck(() => ({ ...behind, markDelete: 1 })), null)
})
