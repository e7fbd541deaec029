// The Raft paper's Figure 7: a leader of term 8 meets followers whose logs are missing
// entries (a, b), hold extra uncommitted entries (c, d) or both (e, f). Logs and hard state
// are written to each node's storage before start; the top node is elected (c and d, whose
// logs are more up to date, are kept out of the election); then it must bring every log into
// agreement with its own, truncating the conflicting suffixes.
import { KV_WRITE_KIND, encodeWrite, type Scenario } from '../packages/sim/src/index.ts'

// Terms of the entries at indexes 1, 2, 3, ... of each log.
const logs: Record<string, number[]> = {
  n1: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],         // the leader
  n2: [1, 1, 1, 4, 4, 5, 5, 6, 6],            // (a)
  n3: [1, 1, 1, 4],                           // (b)
  n4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],      // (c)
  n5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],   // (d)
  n6: [1, 1, 1, 4, 4, 4, 4],                  // (e)
  n7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]       // (f)
}

export const figure7: Scenario = {
  name: 'figure7',
  description: 'Raft paper Figure 7: a new leader repairs six divergent follower logs',
  nodes: 7,
  run: async (sim) => {
    const cluster = sim.cluster
    for (const [id, terms] of Object.entries(logs)) {
      const storage = cluster.node(id).storage
      storage.append(terms.map((term, i) => ({ index: i + 1, term, kind: KV_WRITE_KIND, data: encodeWrite({ key: 'figure', value: `${i + 1}.${term}` }) })))
      storage.setHardState({ term: 7, vote: null, commit: 0 })
      void storage.sync()
    }
    await sim.runFor(50)
    cluster.start()
    cluster.partition('c', ['n4'])
    cluster.partition('d', ['n5'])
    await sim.elect('n1')
    cluster.network.heal('c')
    cluster.network.heal('d')
    sim.workload.start()
    await sim.runFor(5 * sim.electionTimeoutMs)
    const leader = cluster.node('n1').view
    if (leader === null) return sim.fail('liveness-leader', 'n1 is not running')
    for (const id of cluster.ids()) {
      const view = cluster.node(id).view
      if (view === null) continue
      for (let i = 1; i <= Math.min(leader.lastIndex(), 12); i++) {
        if (view.termAt(i) !== leader.termAt(i)) sim.fail('log-matching', `${id} holds term ${view.termAt(i)} at ${i}, the leader ${leader.termAt(i)}, after repair`)
      }
    }
    await sim.recover()
    sim.checkHistory()
  }
}
