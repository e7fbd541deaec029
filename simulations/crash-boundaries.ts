// A crash at every write/fsync boundary: for each kind of storage step (entries appended,
// suffix truncated, term/vote/commit written, sync issued, sync completed, snapshot written,
// snapshot durable) a random node is killed right at its next such step, losing everything
// unsynced, and restarted. Small snapshot thresholds and entry caches make snapshot boundaries
// frequent; for the truncation boundary the scenario first gives an isolated leader entries
// that can never commit, so it must truncate them when it rejoins.
import type { Scenario, StorageBoundary } from '../packages/sim/src/index.ts'

const boundaries: StorageBoundary[] = ['append', 'truncate', 'hardState', 'sync', 'synced', 'snapshot', 'snapshotSaved']

export const crashBoundaries: Scenario = {
  name: 'crash-boundaries',
  description: 'kill a node at each storage write/fsync boundary (entries, term/vote, commit, snapshot), restart it',
  nodes: 5,
  raftConfig: { snapshotThresholdEntries: 40, snapshotChunkBytes: 256, entryCacheBytes: 256 },
  syncLatencyMs: [1, 8],
  run: async (sim) => {
    const cluster = sim.cluster
    cluster.start()
    sim.workload.start()
    await sim.waitForLeader()
    for (let round = 0; round < 3; round++) {
      for (const boundary of boundaries) {
        const up = cluster.ids().filter((id) => cluster.node(id).runtime.state === 'up')
        let target = sim.random.chance(0.4) ? (cluster.leader() ?? up[0]) : up[sim.random.int(0, up.length)]
        if (boundary === 'truncate') {
          target = await sim.waitForLeader()
          cluster.partition('diverge', [target])
          for (let i = 0; i < 3; i++) await sim.write(`k${i}`, `diverged.${round}.${i}`, target, 20)
          await sim.runFor(3 * sim.electionTimeoutMs)
        }
        const node = cluster.node(target)
        let hit = false
        node.onBoundary = (seen) => {
          if (seen !== boundary || hit) return
          hit = true
          node.onBoundary = null
          cluster.record(`crash-at ${boundary} ${target}`)
          cluster.crash(target)
        }
        if (boundary === 'truncate') cluster.network.heal('diverge')
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
