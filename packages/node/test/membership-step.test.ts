import t from 'tap'
import { nextMembershipStep } from '../src/index.ts'

const step = (config: { voters: string[], learners: string[] }, registered: string[], targetVoters: string[], caughtUp: string[] = []) =>
  nextMembershipStep({
    config,
    members: new Set([...config.voters, ...config.learners]),
    registered: new Set(registered),
    targetVoters,
    caughtUp: (peer) => caughtUp.includes(peer)
  })

t.test('the metadata group grows one change at a time: learner first, voter once caught up', async (t) => {
  t.same(step({ voters: ['a'], learners: [] }, ['a', 'b'], ['a', 'b']), { kind: 'addLearner', node: 'b' }, 'a registered node joins as a learner')
  t.same(step({ voters: ['a'], learners: ['b'] }, ['a', 'b'], ['a', 'b']), null, 'a learner that has not caught up stays a learner')
  t.same(step({ voters: ['a'], learners: ['b'] }, ['a', 'b'], ['a', 'b'], ['b']), { kind: 'promoteLearner', node: 'b' }, 'a caught-up target voter is promoted')
  t.same(step({ voters: ['a', 'b', 'c'], learners: ['d'] }, ['a', 'b', 'c', 'd'], ['a', 'b', 'c'], ['d']), null, 'beyond the target, nodes stay learners')
  t.same(step({ voters: ['a'], learners: [] }, ['a', 'c', 'b'], ['a', 'b', 'c']), { kind: 'addLearner', node: 'b' }, 'in a stable order')
  t.same(step({ voters: ['a', 'b', 'c'], learners: [] }, ['a', 'b', 'c'], ['a', 'b', 'c']), null, 'nothing to do')
})

t.test('a down voter is replaced: the spare is promoted first, then the down voter is removed', async (t) => {
  const config = { voters: ['a', 'b', 'c'], learners: ['d'] }
  const all = ['a', 'b', 'c', 'd']
  t.same(step(config, all, ['a', 'b', 'd'], ['d']), { kind: 'promoteLearner', node: 'd' }, 'c is down: d takes its place')
  t.same(step({ voters: ['a', 'b', 'c', 'd'], learners: [] }, all, ['a', 'b', 'd']), { kind: 'removeMember', node: 'c' }, 'then c leaves the voters')
  t.same(step({ voters: ['a', 'b', 'd'], learners: [] }, all, ['a', 'b', 'd']), { kind: 'addLearner', node: 'c' }, 'and comes back as a learner')
  t.same(step({ voters: ['a', 'b', 'c'], learners: [] }, ['a', 'b', 'c'], ['a', 'b']), null, 'with 3 nodes a down voter stays (removing it gains no fault tolerance)')
})
