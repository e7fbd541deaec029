// A node cleans up the partitions it no longer hosts (issue 14, item 2), with the production
// nodes and a producer and consumers running: an operator moves a replica off a live node,
// whose copy of the partition must then leave its disk (and its disk usage fall); then a
// replica's node is crashed, the replica moved off it while it is down, and the node restarted:
// it must delete its stale copy once it has caught up with the metadata. Checked after every
// event: a node never lacks the partition's data while it hosts the partition, and a placed
// replica never loses it. Then the queue oracles (nothing acknowledged lost).
import { NODE_TOPIC, type NodeSimulation, type Scenario } from '../packages/sim/src/index.ts'

/** How long a moved-away replica may keep its data after the move completed, virtual ms. */
export const CLEANUP_MS = 30_000

/** Bytes of the partition's files on `id`'s disk (0: its directory is gone). */
function groupBytes (sim: NodeSimulation, id: string): number {
  let bytes = 0
  const disk = sim.world.process(id).disk
  for (const path of disk.paths()) {
    const [top, dir] = path.split('/')
    if (top === 'groups' && decodeURIComponent(dir ?? '') === NODE_TOPIC) bytes += disk.peek(path)?.length ?? 0
  }
  return bytes
}

function diskBytes (sim: NodeSimulation, id: string): number {
  const disk = sim.world.process(id).disk
  return disk.paths().reduce((sum, path) => sum + (disk.peek(path)?.length ?? 0), 0)
}

/** Whether `id`'s disk has the partition's directory (it may hold no file yet: writes go to the journal first). */
export function hasGroup (sim: NodeSimulation, id: string): boolean {
  return sim.world.process(id).disk.directories().some((dir) => dir.startsWith('groups/') && decodeURIComponent(dir.slice('groups/'.length)) === NODE_TOPIC)
}

function placement (sim: NodeSimulation): { replicas: string[] } | undefined {
  for (const id of sim.world.ids()) {
    const found = sim.world.process(id).core?.metadata.sm.placement(NODE_TOPIC)
    if (found !== undefined) return found
  }
  return undefined
}

/** Nodes that host the partition and have written its files since they began hosting it. */
const holding = new WeakMap<NodeSimulation, Set<string>>()

/** After every event: a node that hosts the partition (up, serving it) still has its files. */
function checkHosted (sim: NodeSimulation): void {
  let held = holding.get(sim)
  if (held === undefined) holding.set(sim, held = new Set())
  for (const id of sim.world.ids()) {
    const hosting = sim.world.process(id).runtime.state === 'up' && sim.world.partitionOn(id, NODE_TOPIC) !== undefined
    if (!hosting) held.delete(id)
    else if (hasGroup(sim, id)) held.add(id)
    else if (held.has(id)) sim.oracles.report('queue-lost-message', `${id} hosts ${NODE_TOPIC} but its data was deleted`)
  }
}

/** Runs until `done` (at most `maxMs`), checking checkHosted after every event. */
async function runChecked (sim: NodeSimulation, done: () => boolean, maxMs: number): Promise<boolean> {
  return await sim.runUntil(() => {
    checkHosted(sim)
    return done()
  }, maxMs)
}

/** Moves `from`'s replica to a node outside the placement and waits until the move is done. */
async function move (sim: NodeSimulation, from: string): Promise<void> {
  const before = placement(sim)
  const to = sim.world.ids().find((id) => !before?.replicas.includes(id))
  if (before === undefined || to === undefined) sim.fail('queue-liveness', 'no placement to move a replica of')
  sim.record(`operator move ${from} -> ${to}`)
  sim.workload.adminRequest(`move ${from} -> ${to}`, async (admin) => { await admin.topics.moveReplica(NODE_TOPIC, from, to) }, [], () => {})
  const done = (): boolean => {
    const leader = sim.world.leaderOf(NODE_TOPIC)
    const core = leader === null ? null : sim.world.process(leader).core
    return core !== null && core.metadata.sm.move(NODE_TOPIC) === undefined && core.metadata.sm.placement(NODE_TOPIC)?.replicas.includes(to) === true
  }
  if (!await runChecked(sim, done, 60_000)) sim.fail('queue-liveness', `the move ${from} -> ${to} did not complete`)
}

export const nodeCleanup: Scenario = {
  name: 'node-cleanup',
  kind: 'node',
  description: 'a replica moved off a live node, and one moved off a crashed node that then restarts: both delete their copy of the partition, never while hosting it',
  nodes: 5,
  runNode: async (sim: NodeSimulation) => {
    const world = sim.world
    world.start()
    await sim.runFor(2_000)
    sim.workload.start()
    await runChecked(sim, () => false, 10_000)
    const first = placement(sim)?.replicas.find((id) => id !== world.leaderOf(NODE_TOPIC))
    if (first === undefined) sim.fail('queue-liveness', 'no follower replica to move')
    // A restart writes what the journal held into the segment files (the store's recovery), so
    // the partition's bytes show on disk rather than in the journal and write-behind buffers.
    world.crash(first, 'process')
    world.restart(first)
    if (!await runChecked(sim, () => world.partitionOn(first, NODE_TOPIC) !== undefined, 20_000)) sim.fail('queue-liveness', `${first} does not host the partition after its restart`)
    await runChecked(sim, () => false, 2_000)
    const bytesBefore = groupBytes(sim, first)
    const diskBefore = diskBytes(sim, first)
    sim.record(`${first} holds ${bytesBefore} bytes of the partition, ${diskBefore} in all`)
    if (bytesBefore === 0) sim.fail('queue-liveness', `${first} holds no data of the partition before the move`)
    await move(sim, first)
    if (!await runChecked(sim, () => !hasGroup(sim, first), CLEANUP_MS)) sim.fail('queue-liveness', `${first} still holds the partition ${CLEANUP_MS}ms after its replica moved away`)
    const diskAfter = diskBytes(sim, first)
    sim.record(`${first} deleted the partition: disk ${diskBefore} -> ${diskAfter} bytes`)
    if (diskAfter >= diskBefore) sim.fail('queue-liveness', `${first}'s disk usage did not fall (${diskBefore} -> ${diskAfter} bytes)`)
    // A node that comes back after its replica moved away while it was down.
    const second = placement(sim)?.replicas.find((id) => id !== world.leaderOf(NODE_TOPIC))
    if (second === undefined) sim.fail('queue-liveness', 'no follower replica to crash')
    world.crash(second, 'process')
    await move(sim, second)
    if (!hasGroup(sim, second)) sim.fail('queue-liveness', `${second} lost its data while down`)
    world.restart(second)
    if (!await runChecked(sim, () => !hasGroup(sim, second), CLEANUP_MS)) sim.fail('queue-liveness', `${second} still holds the partition ${CLEANUP_MS}ms after it restarted`)
    sim.record(`${second} deleted the partition after its restart`)
    for (const id of placement(sim)?.replicas ?? []) {
      if (!hasGroup(sim, id)) sim.fail('queue-lost-message', `${id} is a placed replica without the partition's data`)
    }
    await sim.recover()
  }
}
