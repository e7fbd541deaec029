// The consumer-feature scenarios of the broker workload, bounded: broker-dead-letter and
// broker-seek pass a few seeds under the nemesis (the 500-seed sweeps are
// `blazar sim sweep --workload broker --scenario NAME --seeds 500`), really dead-letter and
// really seek; and the dead-letter oracle fires on what it guards against.
import t from 'tap'
import type { DeadLetterRecord } from '@blazar/broker'
import { SeededRandom, VirtualClock } from '@blazar/env'
import { ORIGIN_MESSAGE_ID, REAL_TOPIC, defaultDeadLetterTopic, type DeliveredEntry } from '@blazar/protocol'
import { EXCLUSIVE_SUBSCRIPTION, QueueOracles, Simulation, defaultBrokerWorkload, runSimulation, simRaftConfig } from '../src/index.ts'
import { DeadLetterTopic } from '../src/dead-letter-oracle.ts'
import { scenarios } from '../../../simulations/index.ts'

const SEEDS = 10
const FAULT_MS = 5_000

const byName = (name: string) => {
  const scenario = scenarios.find((candidate) => candidate.name === name)
  if (scenario === undefined) throw new Error(`no scenario ${name}`)
  return scenario
}

async function chaos (name: string, seed: number): Promise<Simulation> {
  const sim = new Simulation({
    seed, nodes: 3, raftConfig: simRaftConfig, keepTrace: false, faultMs: FAULT_MS, kind: 'broker', broker: { ...defaultBrokerWorkload, ...byName(name).broker }
  })
  await sim.chaos()
  return sim
}

for (const name of ['broker-dead-letter', 'broker-seek']) {
  t.test(`${name} passes ${SEEDS} seeds under the nemesis`, async (t) => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const result = await runSimulation(byName(name), { seed, faultMs: FAULT_MS })
      t.equal(result.violation, null, result.violation === null ? `seed ${seed} passes` : `seed ${seed}: ${result.violation.invariant}: ${result.violation.message}`)
    }
  })
}

t.test('broker-dead-letter: every stored poison message reaches the dead-letter topic', async (t) => {
  const sim = await chaos('broker-dead-letter', 3)
  t.equal(sim.oracles.violation, null, JSON.stringify(sim.oracles.violation))
  const broker = sim.broker!
  const poison = broker.oracles.storedIndexes.filter((index) => {
    const batch = broker.oracles.loggedBatch(index)
    return batch !== null && batch !== undefined && broker.oracles.sends.get(`${batch.producer}#${batch.firstSequenceId}`)?.poison === true
  })
  t.ok(poison.length > 5, `${poison.length} poison messages stored`)
  t.equal(broker.deadLetters?.size, poison.length, 'each of them in the dead-letter topic')
})

t.test('broker-seek: the Exclusive consumer seeks, and receives everything again from each seek point', async (t) => {
  const sim = await chaos('broker-seek', 3)
  t.equal(sim.oracles.violation, null, JSON.stringify(sim.oracles.violation))
  const exclusive = sim.broker!.oracles.subscriptions.get(EXCLUSIVE_SUBSCRIPTION)!
  t.ok(exclusive.seekFloor !== undefined && exclusive.seekFloor > 0, `last seek to ${exclusive.seekFloor}`)
  t.ok(sim.broker!.oracles.allDelivered(), 'everything from the last seek point delivered again')
})

t.test('the dead-letter topic deduplicates resends; early, unasked or twice stored is a violation', async (t) => {
  const reports: string[] = []
  const report = (invariant: string, message: string): void => { reports.push(`${invariant}: ${message}`) }
  const clock = new VirtualClock()
  const origin = 'persistent://public/default/sim-partition-0'
  const noFaults = { refuseRatio: 0, loseAnswerRatio: 0, noAnswerRatio: 0, delayMs: [1, 2] as [number, number] }
  const topic = new DeadLetterTopic({ policy: { maxRedeliverCount: 3 }, report, clock, random: new SeededRandom(1), record: () => {}, originTopic: origin, faults: noFaults })
  const entry = (index: number, redeliveryCount: number): DeliveredEntry => ({
    messageId: { partition: 0, index, batchIndex: 0 }, redeliveryCount, publishTime: 0,
    batch: { producerName: 'p', firstSequenceId: index, lastSequenceId: index, messageCount: 1, compression: 'NONE', uncompressedSize: 0, body: new Uint8Array() }
  })
  const record = (producerName: string, sequenceId: number, index: number): DeadLetterRecord => ({
    topic: defaultDeadLetterTopic(origin, 's'), producerName, sequenceId, payload: new TextEncoder().encode(`p.${index}`),
    properties: { [REAL_TOPIC]: origin, [ORIGIN_MESSAGE_ID]: `${index}:0:0` }
  })
  const publish = async (r: DeadLetterRecord): Promise<void> => {
    const done = topic.publish(r)
    while (clock.step()) { /* run the answer timer */ }
    await done
  }
  t.equal(topic.due(entry(1, 2)), false)
  t.equal(topic.due(entry(1, 3)), true, 'the client\'s rule: redeliveryCount >= maxRedeliverCount')
  topic.requestedBy('s', 'c1', entry(1, 3))
  await publish(record('dlq-a', 1, 1))
  await publish(record('dlq-a', 1, 1))
  t.same(reports, [], 'a resend with the same sequence id is dropped')
  t.equal(topic.duplicates, 1, 'and counted')
  t.equal(topic.size, 1)
  topic.requestedBy('s', 'c1', entry(2, 2))
  t.match(reports, [/^queue-dead-letter: c1 \(s\) dead-lettered 0:2 delivered with redeliveryCount 2 < maxRedeliverCount 3/])
  await publish(record('dlq-a', 2, 1))
  t.match(reports[1], /^queue-dead-letter: 0:1 reached the dead-letter topic twice: dlq-a#1, then dlq-a#2/, 'a fresh sequence id for the same message is a duplicate')
  await publish(record('dlq-a', 3, 7))
  t.match(reports[2], /^queue-dead-letter: 0:7 reached the dead-letter topic though no consumer asked for it/)
  const oracles = new QueueOracles(report)
  t.equal(topic.finalCheck(oracles, 's'), null, 'nothing stored in the partition: nothing missing')
})
