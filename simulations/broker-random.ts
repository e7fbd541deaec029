// The broker sweep's default: one partition (PartitionStateMachine + PartitionReplica on every
// node) with producers, an Exclusive and a Shared subscription, under random nemesis faults
// for --fault-ms virtual ms (default 60 s), then the recovery phase: queue liveness and the
// final queue checks. Odd seeds run 3 nodes, even seeds 5.
import type { Scenario } from '../packages/sim/src/index.ts'

export const brokerRandom: Scenario = {
  name: 'broker-random',
  kind: 'broker',
  description: 'broker partition: producers + Exclusive/Shared consumers under random faults, then heal: queue oracles',
  nodesForSeed: (seed) => seed % 2 === 0 ? 5 : 3,
  run: (sim) => sim.chaos()
}
