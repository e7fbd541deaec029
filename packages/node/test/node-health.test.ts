import t from 'tap'
import type { NodeRecord } from '@blazar/broker'
import { SilenceTracker, nodeStateChanges } from '../src/node-health.ts'

const node = (id: string, state: NodeRecord['state']): NodeRecord => ({ id, addresses: [], zone: null, state })

t.test('silent nodes are marked down, heard-from ones active again', async (t) => {
  const nodes = [node('self', 'active'), node('quiet', 'active'), node('back', 'down'), node('drained', 'draining'), node('chatty', 'active')]
  const silent: Record<string, number> = { self: 60_000, quiet: 10_000, back: 0, drained: 60_000, chatty: 9_999 }
  t.same(nodeStateChanges(nodes, 'self', (id) => silent[id] as number, 10_000), [{ id: 'quiet', state: 'down' }, { id: 'back', state: 'active' }],
    'never this node, never a draining one, down only after the whole interval')
})

t.test('silence is measured from the first silent sample', async (t) => {
  const tracker = new SilenceTracker()
  t.equal(tracker.sample('p', false, 1_000), 0)
  t.equal(tracker.sample('p', false, 4_000), 3_000)
  t.equal(tracker.sample('p', true, 5_000), 0, 'a frame resets it')
  t.equal(tracker.sample('p', false, 6_000), 0)
  t.equal(tracker.sample('p', false, 7_500), 1_500)
  tracker.clear()
  t.equal(tracker.sample('p', false, 9_000), 0, 'a new leader counts afresh')
})
