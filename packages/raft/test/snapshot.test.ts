// Snapshots and log compaction (thesis ch. 5): a lagging follower catches up through a chunked
// InstallSnapshot after the leader compacted the entries it needs.
import t from 'tap'
import { scenario } from './support/script.ts'

const proposals = Array.from({ length: 12 }, (_, i) => `propose 1 k=${i + 1}`).join('\n')

t.test('a lagging follower receives a chunked snapshot after compaction', async (t) => {
  const runner = await scenario(t, `
    add-nodes 3 snapshotThresholdEntries=5 snapshotChunkBytes=8
    campaign 1
    stabilize
    partition 1 2 | 3
    ${proposals}
    stabilize 200
    expect commit 1 13
    expect first 1 14                           # a snapshot at the applied index compacted the log
    expect terms 3 1
    heal
    stabilize 500
    expect commit 3 13
    expect value 3 k 12
    expect first 3 14                           # installed snapshot at 13
    expect no-violations
  `)
  const status = runner.cluster.get('3').node.status()
  t.equal(status.appliedIndex, 13)
})

t.test('a follower with a conflicting log installs the snapshot and drops its suffix', async (t) => {
  await scenario(t, `
    add-nodes 3 snapshotThresholdEntries=5 snapshotChunkBytes=16
    campaign 3
    stabilize
    partition 3 | 1 2
    propose 3 stale=1 as s1
    propose 3 stale=2 as s2
    stabilize
    run 2100                                    # 3 steps down; 1 or 2 take over
    campaign 1
    stabilize
    expect leader 1
    ${proposals}
    stabilize 200
    heal
    stabilize 500
    expect commit 3 14
    expect value 3 k 12
    expect no-value 3 stale
    expect result s1 LEADERSHIP_LOST
    expect no-violations
  `)
})

t.test('a restarted node recovers from its snapshot plus the log after it', async (t) => {
  await scenario(t, `
    add-nodes 3 snapshotThresholdEntries=5
    campaign 1
    stabilize
    ${proposals}
    stabilize 200
    crash 2
    restart 2
    stabilize 100
    expect value 2 k 12
    expect applied 2 13
    expect no-violations
  `)
})
