// A follower cut off while the partition snapshots and compacts (every 20 entries, trims every
// 300 ms) is caught up by InstallSnapshot (each round: the leader's log starts hundreds of
// entries past the follower's). The snapshot covers the log only up to the trim point while its
// state is as applied, so the follower re-applies (and skips) the entries in between. It is then
// made the leader (by a transfer) and must serve the subscriptions: queue oracles plus liveness
// after healing. (This path passes with or without the trim-point rule when consumers keep up
// by the time of the transfer; broker-snapshot-restart is the one that tells the rule apart.)
import type { Scenario } from '../packages/sim/src/index.ts'

export const brokerSnapshotCatchup: Scenario = {
  name: 'broker-snapshot-catchup',
  kind: 'broker',
  description: 'broker partition: a cut-off follower is caught up by a snapshot (taken up to the trim point), then leads',
  nodes: 3,
  raftConfig: { snapshotThresholdEntries: 20 },
  broker: { retentionCheckIntervalMs: 300 },
  run: async (sim) => {
    sim.cluster.start()
    sim.startWorkload()
    await sim.waitForLeader()
    await sim.runFor(2_000)
    for (let round = 0; round < 3; round++) {
      const leader = await sim.waitForLeader()
      const follower = sim.cluster.ids().find((id) => id !== leader) as string
      sim.cluster.partition('lagging', [follower])
      await sim.runFor(sim.random.int(4_000, 8_000))
      sim.cluster.network.heal('lagging')
      await sim.transferTo(follower, 30 * sim.electionTimeoutMs)
      await sim.runFor(sim.random.int(1_000, 3_000))
    }
    await sim.recover()
  }
}
