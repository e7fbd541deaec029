// Jepsen's NATS "pause-kill" schedule: pause a minority, kill one other node so it loses its
// unsynced writes (and restart it), then resume the minority and pause the rest. Acknowledged
// writes must survive (linearizability of the register history) and the oracles must hold.
// broker-pause-kill.ts runs the same rounds against the broker workload.
import type { Scenario, Simulation } from '../packages/sim/src/index.ts'

/** `rounds` rounds of the schedule, each with a fresh choice of minority and victim. */
export async function pauseKillRounds (sim: Simulation, rounds: number): Promise<void> {
  const cluster = sim.cluster
  const minoritySize = Math.floor(cluster.ids().length / 2)
  for (let round = 0; round < rounds; round++) {
    const order = sim.shuffle(cluster.ids())
    const minority = order.slice(0, minoritySize)
    const victim = order[minoritySize]
    const rest = order.slice(minoritySize + 1)
    for (const id of minority) cluster.pause(id)
    await sim.runFor(sim.random.int(200, 2_000))
    cluster.crash(victim)
    await sim.runFor(sim.random.int(10, 500))
    cluster.restart(victim)
    await sim.runFor(sim.random.int(100, 1_000))
    for (const id of minority) cluster.resume(id)
    for (const id of rest) cluster.pause(id)
    await sim.runFor(sim.random.int(2, 6) * sim.electionTimeoutMs)
    for (const id of rest) cluster.resume(id)
    await sim.runFor(2 * sim.electionTimeoutMs)
  }
}

export const pauseKill: Scenario = {
  name: 'pause-kill',
  description: 'pause a minority, kill another node (losing unsynced writes), resume the minority, pause the rest',
  nodes: 5,
  syncLatencyMs: [1, 10],
  run: async (sim) => {
    sim.cluster.start()
    sim.workload.start()
    await sim.waitForLeader()
    await pauseKillRounds(sim, 3)
    await sim.recover()
    sim.checkHistory()
  }
}
