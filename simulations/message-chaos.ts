// Duplicated, reordered and replayed AppendEntries (and every other message): a network that
// duplicates 30% of messages, delays them with a long exponential tail and replays old ones,
// with leader isolations so stale appends from old terms keep arriving. A follower must never
// truncate on a stale or duplicate append (log matching, committed never change).
import type { Scenario } from '../packages/sim/src/index.ts'

export const messageChaos: Scenario = {
  name: 'message-chaos',
  description: 'duplicated, reordered and replayed messages (AppendEntries included) with leader churn',
  nodes: 5,
  run: async (sim) => {
    const cluster = sim.cluster
    cluster.start()
    sim.workload.start()
    cluster.network.profile = { minDelayMs: 1, meanExtraDelayMs: 60, dropRate: 0.02, duplicateRate: 0.3, replayRate: 0.1 }
    const end = sim.now() + sim.faultMs / 2
    while (sim.now() < end) {
      await sim.runFor(sim.random.int(1_000, 4_000))
      const leader = cluster.leader()
      if (leader !== null && sim.random.chance(0.5)) {
        cluster.partition('isolate', [leader])
        await sim.runFor(sim.random.int(1, 4) * sim.electionTimeoutMs)
        cluster.network.heal('isolate')
      }
    }
    await sim.recover()
    sim.checkHistory()
  }
}
