import t from 'tap'
import type { LogEntry } from '@blazar/env'
import { Oracles, type LogView } from '../src/oracles.ts'

const entry = (index: number, term: number, data = `d${index}.${term}`): LogEntry => ({ index, term, kind: 1, data: new TextEncoder().encode(data) })

function log (terms: number[], firstIndex = 1): LogView {
  return {
    firstIndex: () => firstIndex,
    lastIndex: () => firstIndex + terms.length - 1,
    termAt: (i) => i === 0 ? 0 : terms[i - firstIndex]
  }
}

t.test('election safety: a second leader in the same term is a violation', async (t) => {
  const oracles = new Oracles(() => 0)
  oracles.leaderElected('n1', 3, log([]))
  oracles.leaderElected('n1', 3, log([]))
  t.equal(oracles.violation, null, 'the same leader reported twice is fine')
  oracles.leaderElected('n2', 4, log([]))
  t.equal(oracles.violation, null)
  oracles.leaderElected('n3', 4, log([]))
  t.equal(oracles.violation?.invariant, 'election-safety')
})

t.test('log matching: same (index, term) with different data or a different previous term', async (t) => {
  const a = new Oracles(() => 0)
  a.appended('n1', [entry(1, 1), entry(2, 1)], 0)
  a.appended('n2', [entry(1, 1), entry(2, 1)], 0)
  t.equal(a.violation, null)
  a.appended('n3', [entry(2, 1, 'other')], 1)
  t.equal(a.violation?.invariant, 'log-matching')
  const b = new Oracles(() => 0)
  b.appended('n1', [entry(1, 1), entry(2, 2)], 0)
  b.appended('n2', [entry(2, 2)], 3)
  t.equal(b.violation?.invariant, 'log-matching')
})

t.test('leader completeness: a new leader must hold every committed entry', async (t) => {
  const oracles = new Oracles(() => 0)
  oracles.nodeStarted('n1', log([1, 1, 2]))
  oracles.committed('n1', 3, 2, log([1, 1, 2]))
  oracles.endOfEvent()
  oracles.leaderElected('n2', 3, log([1, 1, 2, 3]))
  t.equal(oracles.violation, null)
  oracles.leaderElected('n4', 2, log([1, 1]))
  t.equal(oracles.violation, null, 'a leader of the term that committed it (or an earlier one) need not hold it')
  oracles.leaderElected('n3', 4, log([1, 1, 3]))
  t.equal(oracles.violation?.invariant, 'leader-completeness')
})

t.test('committed entries never change: other term, truncation below commit, commit going back', async (t) => {
  const a = new Oracles(() => 0)
  a.nodeStarted('n1', log([1, 2]))
  a.nodeStarted('n2', log([1, 3]))
  a.committed('n1', 2, 2, log([1, 2]))
  a.endOfEvent()
  a.committed('n2', 2, 2, log([1, 3]))
  a.endOfEvent()
  t.equal(a.violation?.invariant, 'committed-entries-never-change')
  const b = new Oracles(() => 0)
  b.nodeStarted('n1', log([1, 1]))
  b.committed('n1', 2, 2, log([1, 1]))
  b.endOfEvent()
  b.truncated('n1', 3)
  t.equal(b.violation, null, 'truncating above the commit index is fine')
  b.truncated('n1', 2)
  t.equal(b.violation?.invariant, 'committed-entries-never-change')
  const c = new Oracles(() => 0)
  c.nodeStarted('n1', log([1, 1]))
  c.committed('n1', 2, 2, log([1, 1]))
  c.endOfEvent()
  c.committed('n1', 1, 2, log([1, 1]))
  c.endOfEvent()
  t.equal(c.violation?.invariant, 'committed-entries-never-change')
})

t.test('state machine safety: same entry and same state at each index, in order', async (t) => {
  const a = new Oracles(() => 0)
  a.nodeStarted('n1', log([]))
  a.nodeStarted('n2', log([]))
  a.applied('n1', entry(1, 1))
  a.applied('n2', entry(1, 1))
  a.stateReached('n1', 1, 42)
  a.stateReached('n2', 1, 42)
  t.equal(a.violation, null)
  a.applied('n1', entry(2, 1, 'x'))
  a.applied('n2', entry(2, 1, 'y'))
  t.equal(a.violation?.invariant, 'state-machine-safety')
  const b = new Oracles(() => 0)
  b.nodeStarted('n1', log([]))
  b.applied('n1', entry(2, 1))
  b.applied('n1', entry(1, 1))
  t.equal(b.violation?.invariant, 'state-machine-safety', 'apply out of order')
  const c = new Oracles(() => 0)
  c.stateReached('n1', 5, 1)
  c.stateReached('n2', 5, 2)
  t.equal(c.violation?.invariant, 'state-machine-safety', 'diverged state digest')
})
