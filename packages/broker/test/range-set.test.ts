import t from 'tap'
import fc from 'fast-check'
import { DEDUP_PRODUCER_INACTIVITY_MS } from '@blazar/protocol'
import { DedupTable, MessageCache, RangeSet } from '../src/index.ts'
import { batch } from './fixtures/partition-log.ts'

t.test('RangeSet matches a plain set model and stays sorted, disjoint and non-adjacent', async () => {
  const op = fc.oneof(
    fc.record({ type: fc.constant('add' as const), from: fc.nat({ max: 60 }), len: fc.nat({ max: 6 }) }),
    fc.record({ type: fc.constant('removeUpTo' as const), upTo: fc.nat({ max: 60 }) }),
    fc.record({ type: fc.constant('truncate' as const), max: fc.nat({ max: 4 }) })
  )
  fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
    const set = new RangeSet()
    let model = new Set<number>()
    for (const o of ops) {
      if (o.type === 'add') {
        set.add(o.from, o.from + o.len)
        for (let i = o.from; i <= o.from + o.len; i++) model.add(i)
      } else if (o.type === 'removeUpTo') {
        set.removeUpTo(o.upTo)
        model = new Set([...model].filter((v) => v > o.upTo))
      } else {
        set.truncate(o.max)
        const kept = set.toArray()
        model = new Set([...model].filter((v) => kept.some(([a, b]) => a <= v && v <= b)))
      }
      const ranges = set.toArray()
      for (let i = 1; i < ranges.length; i++) if (ranges[i][0] <= ranges[i - 1][1] + 1) return false
      for (let v = 0; v <= 70; v++) if (set.has(v) !== model.has(v)) return false
    }
    return true
  }))
})

t.test('dedup table: bounded, least recently active forgotten first, idle producers expire', async (t) => {
  const table = new DedupTable(2)
  table.record('a', 5, 1, 0)
  table.record('b', 3, 2, 0)
  table.record('a', 6, 3, 0)
  table.record('c', 1, 4, 0)
  t.equal(table.size, 2)
  t.equal(table.lastSequenceId('b'), -1, 'b was least recently active')
  t.equal(table.lastSequenceId('a'), 6)
  t.ok(table.isDuplicate('a', 6))
  t.notOk(table.isDuplicate('a', 7))
  table.record('c', 2, 5, DEDUP_PRODUCER_INACTIVITY_MS + 1)
  t.equal(table.lastSequenceId('a'), -1, 'a was idle for more than 6 hours of publish time')
  t.equal(table.lastSequenceId('c'), 2)
})

t.test('message cache: bounded by entries and bytes, oldest evicted first', async (t) => {
  const cache = new MessageCache({ maxEntries: 3, maxBytes: 1_000 })
  for (let i = 1; i <= 5; i++) cache.add({ index: i, publishTime: 0, envelope: batch('p', i, 1, 10) })
  t.equal(cache.size, 3)
  t.equal(cache.get(2), undefined)
  t.ok(cache.get(5))
  const bytes = cache.cachedBytes
  cache.add({ index: 6, publishTime: 0, envelope: batch('p', 6, 1, 900) })
  t.ok(cache.cachedBytes <= 1_000)
  t.ok(cache.get(6))
  t.ok(bytes > 0)
  cache.dropUpTo(6)
  t.equal(cache.size, 0)
  t.equal(cache.cachedBytes, 0)
})
