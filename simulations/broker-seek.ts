// Seek under the broker-random nemesis: the Exclusive consumer seeks back to a batch it
// received (at most MAX_SEEK_BACK_BATCHES back, inclusive of it or not) every 2-6 s, retrying until the seek is answered, then
// subscribes again. From the answer on it must receive nothing below the seek point and
// exactly the stored batches from there, in order, none skipped (`queue-seek`, `queue-order`),
// and all of them again after healing. Retention never trims, so every seek point is stored.
import type { Scenario } from '../packages/sim/src/index.ts'

export const brokerSeek: Scenario = {
  name: 'broker-seek',
  kind: 'broker',
  description: 'broker partition: an Exclusive consumer seeks back by message id (inclusive or not) under random faults; it then gets exactly the batches from there, in order',
  nodesForSeed: (seed) => seed % 2 === 0 ? 5 : 3,
  broker: { seekIntervalMs: [2_000, 6_000], retentionCheckIntervalMs: 1_000_000_000 },
  run: (sim) => sim.chaos()
}
