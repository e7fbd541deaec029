// Vote durability (thesis §3.8): voter V grants its vote to candidate A in term T and crashes
// before that vote is synced, losing it; after restarting, V is asked by candidate B in the
// same term T. A correct node never released the first grant (the reply waits for the sync),
// so at most one of A and B can lead term T; a node that replies before syncing elects both.
// Timers are frozen so only the chosen candidate campaigns in each phase.
import type { Scenario, Simulation } from '../packages/sim/src/index.ts'

/** Cuts every link except the listed undirected pairs. */
function onlyLinks (sim: Simulation, name: string, pairs: Array<[string, string]>): void {
  const allowed = new Set(pairs.flatMap(([a, b]) => [`${a}>${b}`, `${b}>${a}`]))
  const links: Array<[string, string]> = []
  for (const a of sim.cluster.ids()) for (const b of sim.cluster.ids()) if (a !== b && !allowed.has(`${a}>${b}`)) links.push([a, b])
  sim.cluster.network.cut(name, links)
}

export const voteCrash: Scenario = {
  name: 'vote-crash',
  description: 'crash right after granting a vote (vote lost unsynced), then a vote request in the same term',
  nodes: 5,
  syncLatencyMs: [2, 6],
  run: async (sim) => {
    const cluster = sim.cluster
    cluster.start()
    sim.workload.start()
    for (let round = 0; round < 3; round++) {
      const b = await sim.waitForLeader()
      await sim.runFor(sim.electionTimeoutMs)
      const [a, v, x, y] = sim.shuffle(cluster.ids().filter((id) => id !== b))
      // Phase 1: only A campaigns and reaches only V and X; V crashes right after voting for A.
      // B (the old leader) keeps its timers: cut off with Y alone it steps down (check-quorum)
      // and its pre-votes fail, so it stays in the old term.
      for (const id of cluster.ids()) if (id !== a && id !== b) cluster.freezeTimers(id)
      onlyLinks(sim, 'phase1', [[a, v], [a, x], [b, y]])
      const voter = cluster.node(v)
      const termBefore = voter.raft?.status().term ?? 0
      let crashed = false
      voter.onBoundary = (boundary, hardState) => {
        if (crashed || boundary !== 'hardState' || hardState === undefined || hardState.vote !== a || hardState.term <= termBefore) return
        crashed = true
        voter.onBoundary = null
        cluster.record(`vote-crash ${v} voted ${a} in term ${hardState.term}`)
        cluster.clock.setTimer(0, () => {
          // V restarts deaf and silent, so it learns nothing of term T before B asks (its
          // grant, already in flight with the bug, still reaches A).
          cluster.crash(v)
          cluster.network.cut('voter-alone', cluster.ids().filter((id) => id !== v).map((id) => [id, v] as [string, string]))
          cluster.clock.setTimer(1, () => {
            cluster.restart(v)
            cluster.freezeTimers(v)
          })
        })
      }
      await sim.runUntil(() => crashed, 10 * sim.electionTimeoutMs)
      voter.onBoundary = null
      await sim.runFor(sim.electionTimeoutMs)
      // Phase 2: A and X fall silent; only B campaigns, reaching V (restarted) and Y.
      cluster.freezeTimers(a)
      cluster.network.heal('phase1')
      cluster.network.heal('voter-alone')
      onlyLinks(sim, 'phase2', [[b, v], [b, y]])
      const oldTerm = cluster.node(b).raft?.status().term ?? 0
      await sim.runUntil(() => {
        const status = cluster.node(b).raft?.status()
        return status !== undefined && status.role === 'leader' && status.term > oldTerm
      }, 20 * sim.electionTimeoutMs)
      await sim.runFor(sim.electionTimeoutMs)
      cluster.network.heal('phase2')
      for (const id of cluster.ids()) cluster.thawTimers(id)
      await sim.runFor(3 * sim.electionTimeoutMs)
    }
    await sim.recover()
    sim.checkHistory()
  }
}
