// Day-two operations on the production nodes under the full node nemesis (issue 14): five
// nodes, and an operator that, every few seconds, drains a node (and returns it to service a
// few seconds later) or moves one replica of the partition to a node outside it, while crashes
// long enough to be marked down (10 s) and a short re-replication delay (2 s) make the
// placement actor move replicas off dead nodes too. After healing: the queue oracles (nothing
// acknowledged lost, no phantom, order, cursors never back), the partition's voters must
// converge to its placement, three live nodes, with no move left in flight, and every node
// outside the placement must then delete its copy of the partition (replica-cleanup.ts).
import { SeededRandom } from '../packages/env/src/index.ts'
import { NODE_TOPIC, type NodeSimulation, type Scenario } from '../packages/sim/src/index.ts'
import { CLEANUP_MS, hasGroup } from './node-cleanup.ts'

/** Pause between two operator actions, virtual ms. */
const OPERATION_INTERVAL_MS: [number, number] = [1_500, 5_000]
/** How long a drained node stays draining before it is returned to service, virtual ms. */
const DRAIN_MS: [number, number] = [2_000, 8_000]
/** After healing, how long the replica set may take to match the placement, virtual ms. */
const CONVERGE_MS = 60_000

function operate (sim: NodeSimulation, random: SeededRandom, until: number): void {
  if (sim.clock.now() >= until) return
  const ids = sim.world.ids()
  const placement = ids.map((id) => sim.world.process(id).core?.metadata.sm.placement(NODE_TOPIC)).find((p) => p !== undefined)
  const next = (): void => { sim.clock.setTimer(random.int(...OPERATION_INTERVAL_MS), () => { operate(sim, random, until) }) }
  const tolerated = ['INVALID_ARGUMENT', 'UNKNOWN_NODE', 'UNKNOWN_TOPIC']
  if (placement === undefined) { next(); return }
  if (random.chance(0.5)) {
    const node = ids[random.int(0, ids.length)] as string
    sim.record(`operator drain ${node}`)
    sim.workload.adminRequest(`drain ${node}`, async (admin) => { await admin.nodes.setState(node, 'draining') }, tolerated, () => {
      sim.clock.setTimer(random.int(...DRAIN_MS), () => {
        sim.record(`operator undrain ${node}`)
        sim.workload.adminRequest(`undrain ${node}`, async (admin) => { await admin.nodes.setState(node, 'active') }, tolerated, next)
      })
    })
    return
  }
  const outside = ids.filter((id) => !placement.replicas.includes(id))
  const from = placement.replicas[random.int(0, placement.replicas.length)] as string
  const to = outside[random.int(0, outside.length)]
  if (to === undefined) { next(); return }
  sim.record(`operator move ${from} -> ${to}`)
  sim.workload.adminRequest(`move ${from} -> ${to}`, async (admin) => { await admin.topics.moveReplica(NODE_TOPIC, from, to) }, tolerated, next)
}

export const nodeMoves: Scenario = {
  name: 'node-moves',
  kind: 'node',
  description: 'production nodes under the node nemesis while an operator drains nodes and moves replicas and the placement actor re-replicates dead nodes: queue oracles, replica set converges',
  nodes: 5,
  reReplicationDelayMs: 2_000,
  nodeNemesis: { durationMs: [500, 16_000] },
  runNode: async (sim) => {
    const random = new SeededRandom(sim.seed * 7_919 + 17)
    await sim.chaos(() => { operate(sim, random, sim.clock.now() + sim.faultMs) })
    // Every node is back and active: the partition must settle on three voters, its placement.
    for (const id of sim.world.ids()) sim.workload.adminRequest(`activate ${id}`, async (admin) => { await admin.nodes.setState(id, 'active') }, ['INVALID_ARGUMENT', 'UNKNOWN_NODE'], () => {})
    const converged = (): boolean => {
      const leader = sim.world.leaderOf(NODE_TOPIC)
      if (leader === null) return false
      const core = sim.world.process(leader).core
      const placement = core?.metadata.sm.placement(NODE_TOPIC)
      const config = sim.world.partitionOn(leader, NODE_TOPIC)?.raft.status().config
      if (core === undefined || core === null || placement === undefined || config === undefined) return false
      return core.metadata.sm.move(NODE_TOPIC) === undefined && config.learners.length === 0 &&
        [...config.voters].sort().join(',') === [...placement.replicas].sort().join(',') && placement.replicas.length === 3
    }
    if (!await sim.runUntil(converged, CONVERGE_MS)) {
      const leader = sim.world.leaderOf(NODE_TOPIC)
      const core = leader === null ? null : sim.world.process(leader).core
      sim.fail('queue-liveness', `${CONVERGE_MS}ms after healing the replica set has not converged: placement ${JSON.stringify(core?.metadata.sm.placement(NODE_TOPIC))}, move ${JSON.stringify(core?.metadata.sm.move(NODE_TOPIC))}, voters ${JSON.stringify(leader === null ? null : sim.world.partitionOn(leader, NODE_TOPIC)?.raft.status().config)}`)
    }
    // The nodes the replicas moved off (some while they were down) delete their copies.
    const stale = (): string[] => {
      const leader = sim.world.leaderOf(NODE_TOPIC)
      const replicas = leader === null ? null : sim.world.process(leader).core?.metadata.sm.placement(NODE_TOPIC)?.replicas
      if (replicas === null || replicas === undefined) return ['(no leader)']
      return sim.world.ids().filter((id) => !replicas.includes(id) && hasGroup(sim, id))
    }
    if (!await sim.runUntil(() => stale().length === 0, CLEANUP_MS)) {
      sim.fail('queue-liveness', `${CLEANUP_MS}ms after converging, nodes outside the placement still hold the partition: ${stale().join(', ')}`)
    }
  }
}
