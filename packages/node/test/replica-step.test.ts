import t from 'tap'
import { nextReplicaStep } from '../src/index.ts'

const step = (self: string, config: { voters: string[], learners: string[] }, target: string[], caughtUp: string[] = [], down: string[] = []) =>
  nextReplicaStep({ self, config, target, caughtUp: (peer) => caughtUp.includes(peer), isPeerLive: (peer) => !down.includes(peer) })

t.test('a replica move, one server at a time: learner, promotion, then removal of the old replica', async (t) => {
  const target = ['b', 'c', 'd']
  t.same(step('b', { voters: ['a', 'b', 'c'], learners: [] }, target), { kind: 'addLearner', node: 'd' }, 'the new node joins as a learner')
  t.same(step('b', { voters: ['a', 'b', 'c'], learners: ['d'] }, target), null, 'nothing leaves while the learner catches up')
  t.same(step('b', { voters: ['a', 'b', 'c'], learners: ['d'] }, target, ['d']), { kind: 'promoteLearner', node: 'd' }, 'promoted once caught up')
  t.same(step('b', { voters: ['a', 'b', 'c', 'd'], learners: [] }, target), { kind: 'removeMember', node: 'a' }, 'then the old replica leaves')
  t.same(step('b', { voters: ['b', 'c', 'd'], learners: [] }, target), { kind: 'matched' }, 'the membership matches the placement')
})

t.test('a leaving leader hands leadership to a caught-up, reachable placed voter first', async (t) => {
  const config = { voters: ['a', 'b', 'c', 'd'], learners: [] }
  t.same(step('a', config, ['b', 'c', 'd'], ['c', 'd']), { kind: 'transferLeader', node: 'c' })
  t.same(step('a', config, ['b', 'c', 'd'], ['b', 'c', 'd'], ['b']), { kind: 'transferLeader', node: 'c' }, 'not to a node it cannot reach')
  t.same(step('a', config, ['b', 'c', 'd'], []), null, 'no one to hand to yet: wait')
  t.same(step('a', { voters: ['a', 'b', 'c', 'd'], learners: ['e'] }, ['b', 'c', 'd']), { kind: 'removeMember', node: 'e' }, 'stray learners leave before the leader does')
})

t.test('several placement changes at once still go one change at a time, in id order', async (t) => {
  t.same(step('a', { voters: ['a', 'b', 'c'], learners: [] }, ['a', 'e', 'd']), { kind: 'addLearner', node: 'd' })
  t.same(step('a', { voters: ['a', 'b', 'c'], learners: ['d'] }, ['a', 'e', 'd'], ['d']), { kind: 'addLearner', node: 'e' }, 'every missing node is added before anyone is promoted')
  t.same(step('a', { voters: ['a', 'b', 'c', 'd', 'e'], learners: [] }, ['a', 'e', 'd']), { kind: 'removeMember', node: 'b' })
})
