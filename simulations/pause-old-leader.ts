// An old leader paused past the election timeout (a GC pause / SIGSTOP) while clients keep
// writing through it, then resumed: it must not acknowledge writes or serve reads from its
// stale term (linearizability), and the cluster moves on under the new leader.
import type { Scenario } from '../packages/sim/src/index.ts'

export const pauseOldLeader: Scenario = {
  name: 'pause-old-leader',
  description: 'pause the leader past the election timeout while clients write, then resume it',
  nodes: 5,
  run: async (sim) => {
    sim.cluster.start()
    sim.workload.start()
    for (let round = 0; round < 4; round++) {
      const old = await sim.waitForLeader()
      await sim.runFor(sim.random.int(200, 1_000))
      sim.cluster.pause(old)
      await sim.runFor(sim.random.int(3, 8) * sim.electionTimeoutMs)
      const next = await sim.waitForLeader()
      if (next === old) sim.fail('election-safety', `paused leader ${old} is still the stable leader`)
      sim.cluster.resume(old)
      await sim.runFor(2 * sim.electionTimeoutMs)
    }
    await sim.recover()
    sim.checkHistory()
  }
}
