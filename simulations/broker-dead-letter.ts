// Dead-letter topic under the broker-random nemesis: a tenth of the sends are one poison
// message, which the Shared subscription's consumers negatively acknowledge until the client's
// dead-letter policy (maxRedeliverCount 3, on the broker's redelivery count) sends it to the
// dead-letter topic, and then acknowledge it. The dead-letter topic must receive every poison
// message, each once, never before its redeliveries are exhausted; the broker's redelivery
// count never exceeds the pushes before (`queue-redelivery-count`), also across leader changes
// (where it starts again at 0, as in Pulsar). The Exclusive subscription consumes everything.
import { defaultBrokerWorkload, type Scenario } from '../packages/sim/src/index.ts'

export const brokerDeadLetter: Scenario = {
  name: 'broker-dead-letter',
  kind: 'broker',
  description: 'broker partition: poison messages end in the dead-letter topic (each once, only after maxRedeliverCount) under random faults',
  nodesForSeed: (seed) => seed % 2 === 0 ? 5 : 3,
  broker: { producer: { ...defaultBrokerWorkload.producer, poisonRatio: 0.1 }, deadLetterPolicy: { maxRedeliverCount: 3 } },
  run: (sim) => sim.chaos()
}
