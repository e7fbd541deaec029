import t from 'tap'
import type { NodeRecord } from '@blazar/broker'
import { SilenceTracker, downLeaderHandOffs, nodeStateChanges } from '../src/node-health.ts'

const node = (id: string, state: NodeRecord['state']): NodeRecord => ({ id, addresses: [], zone: null, state })

t.test('silent nodes are marked down, heard-from ones active again', async (t) => {
  const nodes = [node('self', 'active'), node('quiet', 'active'), node('back', 'down'), node('drained', 'draining'), node('chatty', 'active')]
  const silent: Record<string, number> = { self: 60_000, quiet: 10_000, back: 0, drained: 60_000, chatty: 9_999 }
  t.same(nodeStateChanges(nodes, 'self', (id) => silent[id] as number, 10_000), [{ id: 'quiet', state: 'down' }, { id: 'back', state: 'active' }],
    'never this node, never a draining one, down only after the whole interval')
})

t.test('a metadata leader that an earlier leader marked down marks itself active: it is running', async (t) => {
  const nodes = [node('restarted', 'down'), node('other', 'active')]
  t.same(nodeStateChanges(nodes, 'restarted', () => 60_000, 10_000), [{ id: 'restarted', state: 'active' }, { id: 'other', state: 'down' }],
    'its own silence is never sampled: the transport has no liveness for itself')
  t.same(nodeStateChanges([node('leader', 'active')], 'leader', () => 60_000, 10_000), [], 'and it never marks itself down')
})

t.test('a node marked down hands what it leads to an active voter it hears from', async (t) => {
  const states: Record<string, 'active' | 'down' | 'draining'> = { me: 'down', quiet: 'active', gone: 'down', live: 'active', drained: 'draining' }
  const live = new Set(['gone', 'live', 'drained'])
  const input = {
    self: 'me',
    stateOf: (id: string) => states[id],
    isPeerLive: (id: string) => live.has(id),
    led: [
      { group: 'a', voters: ['me', 'quiet', 'gone', 'live'] },
      { group: 'b', voters: ['drained', 'me', 'gone'] },
      { group: 'c', voters: ['live', 'me'] }
    ]
  }
  t.same(downLeaderHandOffs(input), [{ group: 'a', to: 'live' }, { group: 'c', to: 'live' }],
    'never to a silent, down or draining voter; a group with no such voter keeps its leader')
  states.me = 'active'
  t.same(downLeaderHandOffs(input), [], 'an active node keeps its leadership')
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
