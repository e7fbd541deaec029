// Local Raft snapshots of a partition (every 20 entries here, with retention trims every
// 300 ms so the trim point moves) and leaders restarted from them. A partition's messages live
// only in its log, so a snapshot may cover the log only up to the trim point
// (PartitionStateMachine.compactableIndex); its state is taken when it is applied further, and
// the entries after the snapshot's index are skipped when re-applied after a restore. Before
// that rule, a restarted leader's dispatchers failed every read below the snapshot
// (LogCompactedError) and its subscriptions stalled for good. The scenario restarts the leader
// and hands leadership back to it, a few times, and requires that at least one restart
// restored a snapshot.
import type { Scenario } from '../packages/sim/src/index.ts'

export const brokerSnapshotRestart: Scenario = {
  name: 'broker-snapshot-restart',
  kind: 'broker',
  description: 'broker partition: restart the leader from a local snapshot (taken up to the trim point) and re-elect it',
  nodes: 3,
  raftConfig: { snapshotThresholdEntries: 20 },
  broker: { retentionCheckIntervalMs: 300 },
  run: async (sim) => {
    sim.cluster.start()
    sim.startWorkload()
    await sim.waitForLeader()
    await sim.runFor(3_000)
    for (let round = 0; round < 4; round++) {
      const leader = await sim.waitForLeader()
      sim.cluster.crash(leader)
      await sim.runFor(sim.random.int(50, 500))
      sim.cluster.restart(leader)
      // Leadership goes back to the restarted node by a transfer (which catches it up first).
      await sim.transferTo(leader, 20 * sim.electionTimeoutMs)
      await sim.runFor(sim.random.int(1_000, 3_000))
    }
    await sim.recover()
  }
}
