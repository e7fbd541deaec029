// The Raft paper's Figure 8: an entry of an older term stored on a majority is NOT committed by
// counting replicas; only an entry of the leader's current term commits it. Five nodes:
//  (a) S1 leads, its entry X reaches only S2;  (b) S1 crashes, S5 wins with S3 and S4 but its
//  own entries reach nobody;  (c) S5 crashes, S1 restarts and wins, and X (old term) reaches S3
//  while S1's current-term entries are held back: X is now on a majority;  (d) S1 crashes, S5
//  restarts and wins with S2, S3, S4, overwriting X. A leader that counted X as committed in
//  (c) breaks leader completeness in (d); a correct one never reported it committed.
import type { RaftMessage } from '../packages/raft/src/index.ts'
import type { Scenario } from '../packages/sim/src/index.ts'

export const figure8: Scenario = {
  name: 'figure8',
  description: 'Raft paper Figure 8: an old-term entry on a majority must not commit by counting',
  nodes: 5,
  syncLatencyMs: [1, 2],
  run: async (sim) => {
    const cluster = sim.cluster
    const network = cluster.network
    cluster.start()
    await sim.elect('n1')
    await sim.write('figure', 'setup', 'n1')
    // Every log holds the setup entry before the script starts cutting (the paper's logs
    // agree up to index 1 of the figure).
    const setupIndex = cluster.node('n1').raft?.status().lastIndex ?? 0
    await sim.runUntil(() => cluster.ids().every((id) => (cluster.node(id).raft?.status().lastIndex ?? 0) >= setupIndex), 10 * sim.electionTimeoutMs)
    // (a) X reaches S2 only.
    cluster.partition('a', ['n1', 'n2'])
    void sim.write('figure', 'X', 'n1', 1)
    await sim.runFor(300)
    // (b) S1 crashes; S5 wins (S3, S4) but none of its appends leave it.
    cluster.crash('n1')
    network.heal('a')
    network.intercept = (from, _to, message) => from === 'n5' && message.type === 'append' && message.entries.length > 0 ? null : message
    await sim.elect('n5')
    await sim.runFor(200)
    // (c) S5 crashes; S1 restarts and wins; entries of its new term are stripped from its
    // appends, so X (the old term) alone reaches S3.
    cluster.crash('n5')
    network.intercept = null
    cluster.restart('n1')
    await sim.elect('n1')
    const term = cluster.node('n1').raft?.status().term ?? 0
    network.intercept = (from, _to, message: RaftMessage) => {
      if (from !== 'n1' || message.type !== 'append') return message
      const entries = message.entries.filter((entry) => entry.term < term)
      return entries.length === message.entries.length ? message : entries.length === 0 ? null : { ...message, entries }
    }
    await sim.runFor(500)
    // (d) S1 crashes; S5 restarts and wins with S2, S3, S4.
    cluster.crash('n1')
    network.intercept = null
    cluster.restart('n5')
    cluster.partition('d', ['n1'])
    await sim.elect('n5')
    await sim.runFor(1_000)
    network.heal('d')
    await sim.recover()
    sim.checkHistory()
  }
}
