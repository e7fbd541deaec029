// Snapshots and compaction: (1) a follower stays down while the log is compacted past its last
// entry, so it can only catch up by InstallSnapshot (in small chunks); (2) an isolated leader
// keeps appending client writes it can never commit, the majority moves on and compacts, and
// the old leader rejoins with a conflicting log that a snapshot must replace.
import type { Scenario } from '../packages/sim/src/index.ts'

export const snapshots: Scenario = {
  name: 'snapshots',
  description: 'compaction below a lagging follower; snapshot sent to a follower with a conflicting log',
  nodes: 5,
  raftConfig: { snapshotThresholdEntries: 25, snapshotChunkBytes: 64, entryCacheBytes: 256 },
  workload: { clients: 3, thinkMs: [10, 80] },
  run: async (sim) => {
    const cluster = sim.cluster
    cluster.start()
    sim.workload.start()
    for (let round = 0; round < 2; round++) {
      const leader = await sim.waitForLeader()
      const followers = cluster.ids().filter((id) => id !== leader)
      const lagging = followers[sim.random.int(0, followers.length)]
      cluster.crash(lagging)
      await sim.runFor(sim.random.int(3_000, 5_000))
      cluster.restart(lagging)
      await sim.runFor(3 * sim.electionTimeoutMs)
      const old = await sim.waitForLeader()
      cluster.partition('old-leader', [old])
      for (let i = 0; i < 5; i++) await sim.write(`k${i % 3}`, `stale.${round}.${i}`, old, 50)
      await sim.runFor(sim.random.int(3_000, 5_000))
      cluster.network.heal('old-leader')
      await sim.runFor(3 * sim.electionTimeoutMs)
    }
    await sim.recover()
    sim.checkHistory()
  }
}
