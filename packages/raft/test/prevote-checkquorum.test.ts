// Pre-vote (thesis §9.6) and check-quorum: a partitioned node rejoining does not depose a
// healthy leader, and a leader cut off from its quorum steps down.
import t from 'tap'
import { scenario } from './support/script.ts'

const rejoin = `
    campaign 1
    stabilize
    expect leader 1
    partition 1 2 | 3
    run 5000                                    # 3 keeps timing out alone
`

t.test('pre-vote: a rejoining node does not disrupt the leader', async (t) => {
  await scenario(t, `
    add-nodes 3
    ${rejoin}
    expect term 3 1                             # pre-vote never won, so its term did not climb
    heal
    stabilize 300
    expect leader 1
    expect term 1 1
    expect role 3 follower
    expect no-violations
  `)
})

t.test('without pre-vote the same rejoin deposes the leader', async (t) => {
  await scenario(t, `
    add-nodes 3 preVote=false
    ${rejoin}
    heal
    stabilize 300
    expect role 1 follower                      # the higher term forced a step-down
    expect no-violations
  `)
})

t.test('check-quorum: a leader without a quorum steps down', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    partition 1 | 2 3
    run 2100
    expect role 1 follower
    expect no-violations
  `)
})

t.test('without check-quorum an isolated leader stays leader', async (t) => {
  await scenario(t, `
    add-nodes 3 checkQuorum=false
    campaign 1
    stabilize
    partition 1 | 2 3
    run 2100
    expect role 1 leader
  `)
})

t.test('a leader lease makes followers ignore a disruptive vote request', async (t) => {
  await scenario(t, `
    add-nodes 3 preVote=false
    campaign 1
    stabilize
    campaign 3                                  # 3 campaigns at term 2 while 1 and 2 hear the leader
    stabilize 5
    expect term 3 2
    expect term 2 1                             # 2 ignored the request: no term bump, no vote
    expect role 1 leader
  `)
})
