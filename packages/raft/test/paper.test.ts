// Scenarios from the Raft paper: Figure 7 (a leader repairs six divergent follower logs),
// Figure 8 (an old-term entry on a majority is not committed by counting replicas), conflict
// truncation, and persisted state across restarts.
import t from 'tap'
import { scenario } from './support/script.ts'

t.test('Figure 7: the term-8 leader brings followers (a)-(f) into agreement', async (t) => {
  await scenario(t, `
    add-nodes 7
    set-log 1 1 1 1 4 4 5 5 6 6 6 term=7        # the leader-to-be
    set-log 2 1 1 1 4 4 5 5 6 6 term=7          # (a) missing an entry
    set-log 3 1 1 1 4 term=7                    # (b) missing many
    set-log 4 1 1 1 4 4 5 5 6 6 6 6 term=7      # (c) an extra uncommitted entry
    set-log 5 1 1 1 4 4 5 5 6 6 6 7 7 term=7    # (d) two extra entries of term 7
    set-log 6 1 1 1 4 4 4 4 term=7              # (e) a divergent suffix of term 4
    set-log 7 1 1 1 2 2 2 3 3 3 3 3 term=7      # (f) a long divergent suffix
    campaign 1
    stabilize 200
    expect leader 1
    expect term 1 8
    expect terms 2 1 1 1 4 4 5 5 6 6 6 8
    expect terms 3 1 1 1 4 4 5 5 6 6 6 8
    expect terms 4 1 1 1 4 4 5 5 6 6 6 8
    expect terms 5 1 1 1 4 4 5 5 6 6 6 8
    expect terms 6 1 1 1 4 4 5 5 6 6 6 8
    expect terms 7 1 1 1 4 4 5 5 6 6 6 8
    expect commit 7 11
    expect no-violations
  `)
})

// Paper Figure 8 with our no-op: (a) S1 leads term 1 and gets index 2 only to S2; (b) S5 leads
// term 2 and appends index 2 only locally; (c) S1 leads term 3 and replicates (2, term 1) to S3:
// a majority holds it, but it must NOT be committed; (d) S5 can still win term 4 and overwrite it.
const figure8 = `
    campaign 1
    stabilize
    expect leader 1
    partition 1 2 | 3 4 5
    propose 1 a
    stabilize
    expect terms 2 1 1
    crash 1
    partition 1 | 2 | 3 4 5
    block 5 3 append
    block 5 4 append
    campaign 5
    stabilize
    expect leader 5
    expect terms 5 1 2
    crash 5
    unblock
    restart 1
    partition 1 2 3 | 4 | 5
    block-entries 1 2 3
    block-entries 1 3 3
    campaign 1
    stabilize
    campaign 1
    stabilize
    expect leader 1
    expect term 1 3
    expect terms 3 1 1                          # (2, term 1) is now on S1, S2 and S3
`
const figure8End = `
    crash 1
    unblock
    restart 5
    partition 2 3 4 5 | 1
    campaign 5
    stabilize
    campaign 5
    stabilize
    expect leader 5
    expect term 5 4
`

t.test('Figure 8: an entry from an earlier term is not committed by counting replicas', async (t) => {
  await scenario(t, `
    add-nodes 5 preVote=false checkQuorum=false maxAppendBytes=1
    ${figure8}
    expect commit 1 1                           # a majority holds (2, term 1), still uncommitted
    ${figure8End}
    expect terms 2 1 2 4                        # (2, term 1) was overwritten: safe, it never committed
    expect no-violations
  `)
})

t.test('Figure 8 with commitPreviousTermByCounting: the committed entry is lost', async (t) => {
  await scenario(t, `
    add-nodes 5 preVote=false checkQuorum=false maxAppendBytes=1 fault=commitPreviousTermByCounting
    ${figure8}
    expect commit 1 2                           # the bug: committed by counting
    ${figure8End}
    expect violations
  `)
})

t.test('a deposed leader truncates its conflicting uncommitted suffix', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    partition 1 | 2 3
    propose 1 lost                              # (2, term 1) only on the old leader
    stabilize
    run 2100                                    # check-quorum: 1 steps down; 2 or 3 wins term 2
    until leader-among 2 3
    propose @ kept
    stabilize
    expect terms 1 1 1
    heal
    stabilize 300
    expect terms 1 1 2 2
    expect value 1 kept kept
    expect no-value 1 lost
    expect result lost LEADERSHIP_LOST
    expect no-violations
  `)
})

t.test('an acknowledged write survives a crash of every node', async (t) => {
  await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
    propose 1 k=v
    stabilize
    expect result k=v ok
    crash 1
    crash 2
    crash 3
    restart 1
    restart 2
    restart 3
    campaign 2
    stabilize 100
    expect leader 2
    expect value 2 k v
    expect value 1 k v
    expect no-violations
  `)
})

t.test('election restriction: a voter denies a candidate with a less up-to-date log', async (t) => {
  await scenario(t, `
    add-nodes 3 checkQuorum=false
    campaign 1
    stabilize
    partition 1 2 | 3
    propose 1 x
    stabilize
    partition 1 | 2 3
    campaign 3
    stabilize
    expect role 3 precandidate                  # 2 refused the pre-vote: 3's log is behind
    expect term 3 1
    campaign 2
    stabilize
    expect role 2 leader
    expect no-violations
  `)
})
