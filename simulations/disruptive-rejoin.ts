// A disruptive server rejoining (thesis §9.6): a follower cut off for many election timeouts
// keeps timing out; when it rejoins, pre-vote must stop it from bumping the term and deposing
// the healthy leader.
import type { Scenario } from '../packages/sim/src/index.ts'

export const disruptiveRejoin: Scenario = {
  name: 'disruptive-rejoin',
  description: 'a follower isolated for 10+ election timeouts rejoins without deposing the leader (pre-vote)',
  nodes: 5,
  run: async (sim) => {
    const cluster = sim.cluster
    cluster.start()
    sim.workload.start()
    for (let round = 0; round < 2; round++) {
      const leader = await sim.waitForLeader()
      await sim.runFor(sim.electionTimeoutMs)
      const followers = cluster.ids().filter((id) => id !== leader)
      const loner = followers[sim.random.int(0, followers.length)]
      cluster.partition('loner', [loner])
      await sim.runFor(sim.random.int(10, 14) * sim.electionTimeoutMs)
      const term = cluster.node(leader).raft?.status().term
      cluster.network.heal('loner')
      await sim.runFor(5 * sim.electionTimeoutMs)
      const after = cluster.node(leader).raft?.status()
      if (after === undefined || after.role !== 'leader' || after.term !== term) {
        sim.fail('liveness-term-stable', `${loner} rejoined and disrupted leader ${leader} (term ${term} -> ${after?.term}, role ${after?.role})`)
      }
    }
    await sim.recover()
    sim.checkHistory()
  }
}
