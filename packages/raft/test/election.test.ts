// Leader election and log replication (paper §5.2-5.3), as scenario scripts.
import t from 'tap'
import { scenario } from './support/script.ts'

t.test('a campaign wins a term and replicates a proposal to every node', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    expect leader 1
    expect term 1 1
    expect role 2 follower
    propose 1 x=1
    stabilize
    expect result x=1 ok
    expect commit 1 2
    expect commit 3 2
    expect value 3 x 1
    expect terms 2 1 1
    expect no-violations
  `)
})

t.test('a follower rejects proposals with the leader as hint', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 2
    stabilize
    propose 1 y
    stabilize
    expect result y NOT_LEADER
  `)
})

t.test('without a campaign, the randomized timeout elects exactly one leader', async (t) => {
  const runner = await scenario(t, `
    add-nodes 5
    run 2500
    expect no-violations
  `)
  t.equal(runner.cluster.leaders().length, 1)
})
