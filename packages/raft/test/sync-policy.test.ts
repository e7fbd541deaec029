// What the shell makes durable, and when: a batch with log entries, a truncation or a new term
// or vote is synced before its dependent messages go; a hard state that only moves the commit
// index is written but not synced (Raft re-learns the commit index from its leader), so one
// committed proposal costs each node one sync, not two. A crash that loses such a commit index
// recovers with the older one and catches up.
import t from 'tap'
import { encoder, threeNodesLedByOne } from './support/cluster.ts'

t.test('one proposal at a time costs every node one sync per proposal', async (t) => {
  const c = await threeNodesLedByOne({ settled: true })
  const ids = ['1', '2', '3']
  const before = ids.map((id) => c.get(id).storage.syncs())
  const proposals = 20
  for (let i = 0; i < proposals; i++) {
    const index = c.get('1').node.propose(encoder.encode(`k${i}=v`))
    await c.runUntil(() => c.get('1').node.status().appliedIndex >= 1 + i + 1)
    t.equal(await index, i + 2)
    // Let the commit reach the followers (the leader's commit broadcast) before the next one.
    await c.run(20)
  }
  await c.run(500)
  for (const [n, id] of ids.entries()) {
    t.equal(c.get(id).node.status().commitIndex, proposals + 1, `node ${id} learned the last commit`)
    t.equal(c.get(id).storage.syncs() - before[n], proposals, `node ${id}: ${proposals} syncs for ${proposals} proposals (none for commit-only hard states)`)
  }
  t.same(c.violations, [])
})

t.test('a commit index that only moved is written, not synced; a crash loses it and the node re-learns it', async (t) => {
  const c = await threeNodesLedByOne({ settled: true })
  const follower = c.get('3')
  const index = await (async () => {
    const proposed = c.get('1').node.propose(encoder.encode('a=1'))
    await c.runUntil(() => follower.node.status().commitIndex >= 2)
    return proposed
  })()
  await c.run(20)
  t.equal(follower.storage.hardState().commit, 2, 'the new commit index reached storage')
  t.equal(follower.storage.durableHardState().commit, 1, 'but no sync was spent on it')
  t.equal(follower.storage.durableEntries().length, 2, 'the entry itself is durable')
  c.crash('3')
  c.restart('3')
  t.equal(follower.storage.recovered.hardState.commit, 1, 'it restarted with the older commit index')
  await c.run(300)
  t.equal(follower.node.status().commitIndex, 2, 'and re-learned the newer one from its leader (a heartbeat)')
  t.equal(follower.sm.values.get('a'), '1', 'and applied the entry')
  t.equal(await index, 2)
  t.same(c.violations, [])
})

t.test('a new term and vote are still synced before the vote is granted', async (t) => {
  const c = await threeNodesLedByOne({ settled: true })
  const voter = c.get('2')
  const term = voter.node.status().term
  c.crash('1')
  c.get('3').node.campaign()
  await c.runUntil(() => c.leaders().includes('3'))
  t.equal(voter.storage.durableHardState().term, term + 1, 'the voter synced the new term')
  t.equal(voter.storage.durableHardState().vote, '3', 'and its vote')
  t.same(c.violations, [])
})
