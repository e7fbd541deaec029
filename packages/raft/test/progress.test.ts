// Unit tests of per-follower progress: probe/replicate/snapshot states and the in-flight window.
import t from 'tap'
import { Progress } from '../src/progress.ts'

t.test('probe sends one append and pauses until an answer', async (t) => {
  const pr = new Progress(5, 3, 0)
  t.equal(pr.state, 'probe')
  t.notOk(pr.isPaused())
  pr.sentEntries(7, 0)
  t.ok(pr.isPaused(), 'one probe in flight')
  t.equal(pr.next, 5, 'probe does not advance next optimistically')
  t.ok(pr.maybeUpdate(7, 10))
  t.equal(pr.match, 7)
  t.equal(pr.next, 8)
  t.notOk(pr.isPaused())
})

t.test('replicate pipelines up to the window, and acks free it in order', async (t) => {
  const pr = new Progress(1, 3, 0)
  pr.maybeUpdate(0, 0)
  pr.becomeReplicate()
  pr.sentEntries(2, 1)
  pr.sentEntries(4, 1)
  pr.sentEntries(6, 1)
  t.equal(pr.next, 7)
  t.ok(pr.isPaused(), 'window of 3 is full')
  t.equal(pr.inflightCount(), 3)
  t.ok(pr.maybeUpdate(4, 5))
  t.equal(pr.inflightCount(), 1, 'appends ending at 2 and 4 are acknowledged')
  t.notOk(pr.isPaused())
  t.notOk(pr.maybeUpdate(3, 6), 'a stale ack changes nothing')
  t.equal(pr.match, 4)
})

t.test('the window bound is an invariant', async (t) => {
  const pr = new Progress(1, 1, 0)
  pr.becomeReplicate()
  pr.sentEntries(1, 0)
  t.throws(() => pr.sentEntries(2, 0), { name: 'RaftInvariantError' })
})

t.test('becomeProbe restarts from the match; snapshot state sends nothing', async (t) => {
  const pr = new Progress(1, 4, 0)
  pr.becomeReplicate()
  pr.sentEntries(10, 0)
  pr.maybeUpdate(3, 1)
  pr.becomeProbe()
  t.equal(pr.next, 4)
  t.equal(pr.inflightCount(), 0)
  pr.becomeSnapshot()
  t.ok(pr.isPaused())
  pr.fetchingFrom = undefined
  pr.becomeProbe()
  pr.fetchingFrom = 4
  t.ok(pr.isPaused(), 'a pending storage read pauses sending')
})
