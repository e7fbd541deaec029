// Membership changes during faults: add a new server (learner, then promoted), remove a
// follower, and replace the leader itself (add a new server, then the leader removes itself
// and steps down), while the nemesis crashes, pauses and partitions nodes. Each change is
// retried until it succeeds; a removed server keeps running (and must not disrupt).
import type { NodeId } from '../packages/env/src/index.ts'
import type { Scenario, Simulation } from '../packages/sim/src/index.ts'

async function change (sim: Simulation, what: string, call: (leader: NodeId) => Promise<unknown>): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const leader = await sim.waitForLeader(30 * sim.electionTimeoutMs)
    let settled: 'ok' | 'error' | null = null
    let code = ''
    call(leader).then(() => { settled = 'ok' }, (error: unknown) => { settled = 'error'; code = (error as { code?: string } | null)?.code ?? String(error) })
    await sim.runUntil(() => settled !== null, 10 * sim.electionTimeoutMs)
    sim.cluster.record(`membership ${what} via ${leader}: ${settled ?? 'pending'} ${code}`)
    if (settled === 'ok') return
    await sim.runFor(sim.electionTimeoutMs)
  }
  sim.fail('liveness-pending-operations', `membership change "${what}" did not succeed in 40 attempts`)
}

async function addServer (sim: Simulation, id: NodeId): Promise<void> {
  sim.cluster.addProcess(id)
  await change(sim, `add learner ${id}`, (leader) => sim.cluster.request(leader, (raft) => raft.addLearner(id)))
  await sim.runFor(2 * sim.electionTimeoutMs)
  await change(sim, `promote ${id}`, (leader) => sim.cluster.request(leader, (raft) => raft.promoteLearner(id)))
}

async function removeServer (sim: Simulation, id: NodeId): Promise<void> {
  await change(sim, `remove ${id}`, (leader) => sim.cluster.request(leader, (raft) => raft.removeMember(id)))
}

export const membership: Scenario = {
  name: 'membership',
  description: 'add, remove and replace servers (the leader included) while the nemesis injects faults',
  nodes: 5,
  nemesis: { weights: { 'isolate-leader': 1, split: 1, crash: 2, pause: 1, lossy: 1 }, durationMs: [300, 3_000], intervalMs: [1_000, 4_000], maxActive: 1 },
  run: async (sim) => {
    const cluster = sim.cluster
    cluster.start()
    sim.workload.start()
    await sim.waitForLeader()
    sim.nemesis.start()
    await addServer(sim, 'n6')
    const follower = cluster.ids().find((id) => id !== cluster.leader() && id !== 'n6') as NodeId
    await removeServer(sim, follower)
    await addServer(sim, 'n7')
    const leader = await sim.waitForLeader(30 * sim.electionTimeoutMs)
    await removeServer(sim, leader)
    await sim.runFor(5_000)
    await sim.recover()
    sim.checkHistory()
  }
}
