// The sweep's default: the KV workload under random faults from the nemesis (partitions of
// every shape, crashes losing unsynced writes, pauses, lossy and clogged links, leader
// transfers) for --fault-ms virtual ms (default 60 s), then the recovery phase.
import type { Scenario } from '../packages/sim/src/index.ts'

export const random: Scenario = {
  name: 'random',
  description: 'KV workload under random nemesis faults, then heal: liveness + linearizability',
  nodes: 5,
  run: (sim) => sim.chaos()
}
