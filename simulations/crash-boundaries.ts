// A crash at every write/fsync boundary: for each kind of storage step (entries appended,
// suffix truncated, term/vote/commit written, sync issued, sync completed, snapshot written,
// snapshot durable, log compacted) a random node is killed right at its next such step,
// losing everything unsynced, and restarted. Small snapshot thresholds make snapshot and
// compaction boundaries frequent.
import type { Scenario, StorageBoundary } from '../packages/sim/src/index.ts'

const boundaries: StorageBoundary[] = ['append', 'truncate', 'hardState', 'sync', 'synced', 'snapshot', 'snapshotSaved', 'compact']

export const crashBoundaries: Scenario = {
  name: 'crash-boundaries',
  description: 'kill a node at each storage write/fsync boundary (entries, term/vote, commit, snapshot), restart it',
  nodes: 5,
  raftConfig: { snapshotThresholdEntries: 40, snapshotChunkBytes: 256 },
  syncLatencyMs: [1, 8],
  run: async (sim) => {
    const cluster = sim.cluster
    cluster.start()
    sim.workload.start()
    await sim.waitForLeader()
    for (let round = 0; round < 3; round++) {
      for (const boundary of boundaries) {
        const up = cluster.ids().filter((id) => cluster.node(id).runtime.state === 'up')
        const target = sim.random.chance(0.4) ? (cluster.leader() ?? up[0]) : up[sim.random.int(0, up.length)]
        const node = cluster.node(target)
        let hit = false
        node.onBoundary = (seen) => {
          if (seen !== boundary || hit) return
          hit = true
          node.onBoundary = null
          cluster.record(`crash-at ${boundary} ${target}`)
          cluster.crash(target)
        }
        await sim.runUntil(() => hit, 4 * sim.electionTimeoutMs)
        node.onBoundary = null
        if (hit) {
          await sim.runFor(sim.random.int(1, 400))
          cluster.restart(target)
        }
        await sim.runFor(sim.random.int(100, 1_500))
      }
    }
    await sim.recover()
    sim.checkHistory()
  }
}
