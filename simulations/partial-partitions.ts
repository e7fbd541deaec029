// Asymmetric and partial partitions that last into the recovery phase (named `permanent-*`,
// so recovery leaves them in place): a node that can send but not receive, one that can
// receive but not send, a bridge, or a majorities ring. After the rest heals, a stable leader
// must emerge and terms must stop climbing (pre-vote + check-quorum).
import type { Scenario } from '../packages/sim/src/index.ts'

export const partialPartitions: Scenario = {
  name: 'partial-partitions',
  description: 'one-way / bridge / ring partitions that persist through recovery: terms must stop climbing',
  nodes: 5,
  run: async (sim) => {
    const cluster = sim.cluster
    cluster.start()
    sim.workload.start()
    await sim.waitForLeader()
    const ids = cluster.ids()
    const order = sim.shuffle(ids)
    const leader = cluster.leader() ?? order[0]
    const shape = sim.random.int(0, 4)
    const others = (id: string) => ids.filter((other) => other !== id)
    if (shape === 0) {
      cluster.network.cut('permanent-deaf', others(leader).map((id) => [id, leader] as [string, string]))
    } else if (shape === 1) {
      cluster.network.cut('permanent-mute', others(order[1]).map((id) => [order[1], id] as [string, string]))
    } else if (shape === 2) {
      const [bridge, a1, a2, b1, b2] = order
      cluster.network.cut(`permanent-bridge-${bridge}`, [[a1, b1], [b1, a1], [a1, b2], [b2, a1], [a2, b1], [b1, a2], [a2, b2], [b2, a2]])
    } else {
      const links: Array<[string, string]> = []
      const n = order.length
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) if (Math.min((i - j + n) % n, (j - i + n) % n) > 1) links.push([order[i], order[j]])
      }
      cluster.network.cut('permanent-ring', links)
    }
    sim.nemesis.start()
    await sim.runFor(sim.faultMs / 3)
    await sim.recover()
    sim.checkHistory()
  }
}
