import t from 'tap'
import { Trace, combineTraceHashes } from '../src/trace.ts'
import { DeterminismViolationError, installTripwires } from '../src/tripwires.ts'

t.test('the trace hash depends on every line and its order, not on whether lines are kept', async (t) => {
  const hashOf = (lines: string[], keepLines: boolean) => {
    const trace = new Trace({ keepLines })
    for (const [i, line] of lines.entries()) trace.record(i, line)
    return trace.hash()
  }
  t.equal(hashOf(['a', 'b'], true), hashOf(['a', 'b'], false))
  t.not(hashOf(['a', 'b'], false), hashOf(['b', 'a'], false))
  t.not(hashOf(['a', 'b'], false), hashOf(['a', 'c'], false))
  t.not(combineTraceHashes(['x', 'y']), combineTraceHashes(['y', 'x']))
})

t.test('tripwires make the forbidden globals throw until restored; setImmediate keeps working', async (t) => {
  const restore = installTripwires()
  try {
    t.throws(() => Date.now(), DeterminismViolationError)
    t.throws(() => Math.random(), DeterminismViolationError)
    t.throws(() => setTimeout(() => {}, 1), DeterminismViolationError)
    t.throws(() => setInterval(() => {}, 1), DeterminismViolationError)
    t.throws(() => performance.now(), DeterminismViolationError)
    await new Promise((resolve) => { setImmediate(resolve) })
  } finally {
    restore()
  }
  t.type(Date.now(), 'number')
  t.type(Math.random(), 'number')
})
