// The node sweep's default: the production node (packages/node's NodeCore: gateway,
// forwarding, consumer registry, metadata and partition services) on every simulated node,
// with LogStore over SimDisk, under random process, network and storage faults for --fault-ms
// virtual ms (default 30 s), then the recovery phase and the queue oracles. Clients send the
// client protocol to any node. Odd seeds run 3 nodes, even seeds 5 (where two nodes host no
// replica of the partition and always forward).
import type { Scenario } from '../packages/sim/src/index.ts'

export const nodeRandom: Scenario = {
  name: 'node-random',
  kind: 'node',
  description: 'production nodes (gateway, forwarding, LogStore on SimDisk): producers + Exclusive/Shared consumers via any node under process, network and disk faults: queue oracles',
  nodesForSeed: (seed) => seed % 2 === 0 ? 5 : 3
}
