// Delayed delivery under the broker-random nemesis: a fifth of the sends are one delayed
// message (deliverAtTime 0.2-4 s ahead). The Shared subscription must never push one before
// its time, also from a new leader that rebuilt its delayed index from the log
// (`queue-delayed-delivery`), and must deliver every one after healing (queue liveness); the
// Exclusive one delivers them at once, as Pulsar. The dispatch liveness oracle runs as always.
import { defaultBrokerWorkload, type Scenario } from '../packages/sim/src/index.ts'

export const brokerDelayed: Scenario = {
  name: 'broker-delayed',
  kind: 'broker',
  description: 'broker partition: delayed messages (Shared: never before deliverAtTime, across leader changes) under random faults',
  nodesForSeed: (seed) => seed % 2 === 0 ? 5 : 3,
  broker: { producer: { ...defaultBrokerWorkload.producer, delayedRatio: 0.2, delayMs: [200, 4_000] } },
  run: (sim) => sim.chaos()
}
