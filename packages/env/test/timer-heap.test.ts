import t from 'tap'
import fc from 'fast-check'
import { TimerHeap } from '../src/index.ts'

t.test('timers leave the heap in (deadline, sequence) order; cancelled heads are skipped', async (t) => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 200 }), (specs) => {
    const heap = new TimerHeap<{ at: number, seq: number }>()
    const live = new Set<number>()
    specs.forEach(([at, keep], seq) => {
      heap.push({ at, seq })
      if (keep) live.add(seq)
    })
    const popped: Array<{ at: number, seq: number }> = []
    for (;;) {
      heap.dropCancelled((timer) => live.has(timer.seq))
      const head = heap.peek()
      if (head === undefined) break
      heap.pop()
      popped.push(head)
    }
    const expected = specs.map(([at], seq) => ({ at, seq })).filter((timer) => live.has(timer.seq))
      .sort((a, b) => a.at - b.at || a.seq - b.seq)
    return JSON.stringify(popped) === JSON.stringify(expected)
  }), { numRuns: 200 })
  t.pass('200 random schedules popped in order')
})
