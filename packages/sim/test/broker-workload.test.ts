// The broker workload end to end: a partition Raft group of 3 and of 5 nodes under random
// faults passes the queue oracles, really moves messages (sends acknowledged, every stored
// batch delivered to both subscriptions, cursors replicated), replays to the same trace hash,
// and the pause-kill schedule loses nothing.
import t from 'tap'
import { EXCLUSIVE_SUBSCRIPTION, SHARED_SUBSCRIPTION, Simulation, runSimulation, simRaftConfig, defaultBrokerWorkload } from '../src/index.ts'
import { scenarios } from '../../../simulations/index.ts'

const byName = (name: string) => {
  const scenario = scenarios.find((candidate) => candidate.name === name)
  if (scenario === undefined) throw new Error(`no scenario ${name}`)
  return scenario
}

t.test('broker-random passes on 3 and 5 nodes and moves real traffic', async (t) => {
  for (const seed of [1, 2]) {
    const result = await runSimulation(byName('broker-random'), { seed, faultMs: 15_000 })
    t.equal(result.nodes, seed % 2 === 0 ? 5 : 3)
    t.equal(result.violation, null, result.violation === null ? `seed ${seed} passes` : `seed ${seed}: ${result.violation.invariant}: ${result.violation.message}`)
    t.ok(result.faultsInjected > 0, `${result.faultsInjected} faults`)
    const queue = result.queue
    t.ok(queue !== undefined && queue.acked > 100, `${queue?.acked} sends acknowledged`)
    t.ok(queue !== undefined && queue.stored >= queue.acked, 'every acknowledged send stored (retries may store twice)')
  }
})

t.test('after the run every stored batch reached both subscriptions and every replica agrees on the cursors', async (t) => {
  const sim = new Simulation({
    seed: 4, nodes: 3, raftConfig: simRaftConfig, keepTrace: false, faultMs: 10_000, kind: 'broker', broker: defaultBrokerWorkload
  })
  await sim.chaos()
  t.equal(sim.oracles.violation, null, JSON.stringify(sim.oracles.violation))
  const broker = sim.broker
  if (broker === null) throw new Error('no broker workload')
  t.ok(broker.oracles.allDelivered())
  for (const name of [EXCLUSIVE_SUBSCRIPTION, SHARED_SUBSCRIPTION]) {
    t.equal(broker.oracles.subscriptions.get(name)?.delivered.size, broker.oracles.storedIndexes.length, `${name} received every stored batch`)
  }
  const leader = sim.stableLeader()
  if (leader === null) throw new Error('no leader')
  const leaderCursor = broker.host.partition(leader)?.sm.cursor(EXCLUSIVE_SUBSCRIPTION)
  await sim.runFor(2_000)
  for (const id of sim.cluster.ids()) {
    const partition = broker.host.partition(id)
    t.ok(partition !== undefined && partition.sm.backlog(EXCLUSIVE_SUBSCRIPTION) === 0 && partition.sm.backlog(SHARED_SUBSCRIPTION) === 0, `${id} has no backlog`)
    t.ok((partition?.sm.cursor(EXCLUSIVE_SUBSCRIPTION)?.markDelete ?? 0) >= (leaderCursor?.markDelete ?? 0), `${id}'s cursor replicated`)
  }
})

t.test('the same broker seed twice gives the same trace hash', async (t) => {
  const scenario = byName('broker-random')
  const first = await runSimulation(scenario, { seed: 7, faultMs: 8_000 })
  const second = await runSimulation(scenario, { seed: 7, faultMs: 8_000 })
  const other = await runSimulation(scenario, { seed: 9, faultMs: 8_000 })
  t.ok(first.events > 1_000)
  t.equal(second.traceHash, first.traceHash)
  t.not(other.traceHash, first.traceHash)
})

t.test('broker-pause-kill: nothing acknowledged is lost', async (t) => {
  for (const seed of [1, 2, 3]) {
    const result = await runSimulation(byName('broker-pause-kill'), { seed })
    t.equal(result.violation, null, result.violation === null ? `seed ${seed} passes` : `seed ${seed}: ${result.violation.invariant}: ${result.violation.message}`)
    t.ok((result.queue?.acked ?? 0) > 50)
  }
})
