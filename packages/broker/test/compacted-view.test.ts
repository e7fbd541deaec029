// The compacted view (Pulsar topic compaction semantics): the latest message per key up to the
// horizon, an empty payload deletes the key, keyless messages are left out; batches after the
// horizon are read whole; two views fed the same log agree, also when one reaches the horizon
// in steps.
import t from 'tap'
import { encodeBatch, type ProducerMessage } from '@blazar/protocol'
import { CompactedView } from '../src/partition/compacted-view.ts'
import { codecs } from './fixtures/partition-log.ts'

let sequence = 0
function messages (...records: Array<[string | undefined, string]>): ReturnType<typeof encodeBatch> {
  const batch: ProducerMessage[] = records.map(([key, value]) => ({
    ...(key === undefined ? {} : { key }), properties: {}, payload: new TextEncoder().encode(value), eventTime: 0, sequenceId: sequence++
  }))
  return encodeBatch(batch, { producerName: 'p' }, codecs)
}

const log = [
  { index: 2, batch: messages(['a', 'a1'], ['b', 'b1'], [undefined, 'no key']) },
  { index: 4, batch: messages(['a', 'a2']) },
  { index: 5, batch: messages(['c', 'c1'], ['b', '']) },
  { index: 7, batch: messages(['d', 'd1'], ['c', 'c2'], ['e', 'e1']) },
  { index: 9, batch: messages(['a', 'a3']) }
]

t.test('latest message per key, tombstones delete, keyless messages are left out', async (t) => {
  const view = new CompactedView()
  for (const { index, batch } of log.slice(0, 4)) view.add(index, batch)
  view.cover(8)
  t.equal(view.horizon, 8)
  t.same(view.keptAt(2, 3), [], 'a1 superseded, b deleted, the keyless message left out: nothing of batch 2')
  t.same(view.keptAt(4, 1), [0], 'a2 is the latest a')
  t.same(view.keptAt(5, 2), [], 'c1 superseded, the tombstone of b is not kept either')
  t.same(view.keptAt(7, 3), [0, 1, 2], 'the whole batch is kept')
  t.equal(view.keptAt(9, 1), undefined, 'after the horizon: read normally')
  t.equal(view.keys, 4, 'a, c, d, e')
  t.equal(view.firstKeptIndex(), 4, 'retention must keep batch 4 and above')
  t.equal(view.trimBound(), 3)
})

t.test('raising the horizon continues from the previous view; replicas agree', async (t) => {
  const stepped = new CompactedView()
  for (const { index, batch } of log.slice(0, 2)) stepped.add(index, batch)
  stepped.cover(4)
  t.same(stepped.keptAt(2, 3), [1], 'at horizon 4: b1 still live')
  for (const { index, batch } of log.slice(2)) stepped.add(index, batch)
  stepped.cover(9)
  const once = new CompactedView()
  for (const { index, batch } of log) once.add(index, batch)
  once.cover(9)
  for (const { index, batch } of log) t.same(stepped.keptAt(index, batch.messageCount), once.keptAt(index, batch.messageCount), `batch ${index}`)
  t.same(once.keptAt(4, 1), [], 'a3 supersedes a2')
  t.same(once.keptAt(7, 3), [0, 1, 2])
  t.equal(once.firstKeptIndex(), 7)
})

t.test('a key re-created after its tombstone is live again; the key bound is a typed error', async (t) => {
  const view = new CompactedView(undefined, 2)
  view.add(1, messages(['x', 'x1'], ['x', '']))
  t.equal(view.trimBound(), 0, 'nothing kept: trimmed up to the horizon at most')
  view.add(2, messages(['x', 'x2']))
  view.cover(2)
  t.same(view.keptAt(1, 2), [])
  t.same(view.keptAt(2, 1), [0])
  view.add(3, messages(['y', 'y1']))
  t.throws(() => view.add(4, messages(['z', 'z1'])), { name: 'LimitExceededError' })
  t.throws(() => view.add(3, messages(['x', 'x3'])), { name: 'BrokerInvariantError' }, 'batches must come in log order')
})
