// Flow control and limits: entries older than the in-memory cache are read from storage for a
// lagging follower, a follower whose entries were compacted meanwhile gets a snapshot, and
// maxPendingProposals turns into BackpressureError.
import t from 'tap'
import { scenario } from './support/script.ts'

const proposals = (n: number): string => Array.from({ length: n }, (_, i) => `propose 1 k=${i + 1}`).join('\n')

t.test('a lagging follower is caught up from storage when the cache no longer holds its entries', async (t) => {
  const runner = await scenario(t, `
    add-nodes 3 entryCacheBytes=16 maxAppendBytes=8 maxInflightAppends=2
    campaign 1
    stabilize
    partition 1 2 | 3
    ${proposals(20)}
    stabilize 200
    heal
    stabilize 500
    expect commit 3 21
    expect value 3 k 20
    expect terms 3 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1
    expect no-violations
  `)
  t.ok(runner.cluster.delivered > 0)
})

t.test('a follower whose entries were compacted while it lagged gets a snapshot', async (t) => {
  await scenario(t, `
    add-nodes 3 entryCacheBytes=16 snapshotThresholdEntries=8
    campaign 1
    stabilize
    partition 1 2 | 3
    ${proposals(20)}
    stabilize 200
    heal
    stabilize 500
    expect commit 3 21
    expect value 3 k 20
    expect no-violations
  `)
})

t.test('more than maxPendingProposals waiting calls are refused with backpressure', async (t) => {
  await scenario(t, `
    add-nodes 3 maxPendingProposals=2
    campaign 1
    stabilize
    partition 1 | 2 3                           # nothing commits
    propose 1 a
    propose 1 b
    propose 1 c
    expect result c BACKPRESSURE
    expect result a pending
  `)
})
