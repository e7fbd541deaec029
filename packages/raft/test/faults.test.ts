// Each RaftFaults switch really produces its bug: the same script passes the oracles without the
// fault and violates them with it. (commitPreviousTermByCounting: see the Figure 8 test.)
import t from 'tap'
import { scenario } from './support/script.ts'

const cases: Array<{ fault: string, options: string, script: string }> = [
  {
    // A crash right after granting a vote loses the unsynced vote; the node votes again in the same term.
    fault: 'skipVotePersist',
    options: 'preVote=false checkQuorum=false',
    script: `
      slow-disk 2 500
      partition 1 2 | 3
      campaign 1                                # 2 grants; with the fault the reply leaves before the vote is durable
      stabilize 20
      crash 2
      slow-disk 2 1
      restart 2
      partition 1 | 2 3
      campaign 3                                # 2 lost its term-1 vote and grants it again
      stabilize 20
    `
  },
  {
    // A voter that skips the up-to-date check elects a leader missing a committed entry.
    fault: 'grantVoteWithoutLogCheck',
    options: 'preVote=false checkQuorum=false',
    script: `
      campaign 1
      stabilize
      partition 1 2 | 3
      propose 1 x=1                             # committed on 1 and 2; 3 lacks it
      stabilize
      partition 1 | 2 3
      campaign 3
      stabilize 100
    `
  },
  {
    // A follower keeps a conflicting entry under a new leader's suffix and then commits it.
    fault: 'skipConflictTruncation',
    options: 'checkQuorum=false',
    script: `
      campaign 1
      stabilize
      partition 1 | 2 3
      propose 1 lost                            # (2, term 1) only on 1
      stabilize
      campaign 2
      stabilize
      propose 2 kept
      stabilize
      heal
      campaign 1                                # 1 learns term 2 and follows 2
      stabilize 300
    `
  }
]

for (const { fault, options, script } of cases) {
  t.test(`${fault}: the oracles pass without the fault`, async (t) => {
    await scenario(t, `add-nodes 3 ${options}\n${script}\nexpect no-violations`)
  })
  t.test(`${fault}: the fault produces a violation`, async (t) => {
    await scenario(t, `add-nodes 3 ${options} fault=${fault}\n${script}\nexpect violations`)
  })
}

t.test('a node whose storage reports corruption neither votes nor leads', async (t) => {
  const runner = await scenario(t, `
    add-nodes 3
    campaign 1
    stabilize
  `)
  const member = runner.cluster.get('2')
  member.storage.injectCorruption({ file: 'log', offset: 0, reason: 'bad checksum' })
  await runner.run(`
    restart 2
    expect corrupted 2
    campaign 2
    stabilize
    expect leader 1
    partition 1 | 2 3
    run 5000                                    # 3 can only win with 2's vote, which never comes
    expect role 2 follower
    expect no-leader
  `)
  const status = member.node.status()
  t.equal(status.term, 1, 'the corrupted node did not adopt newer terms')
})
