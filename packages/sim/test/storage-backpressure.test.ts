// Storage backpressure and limits reach the proposer as typed refusals: three RaftNodes, each on
// its own LogStore over a SimDisk, on one VirtualClock. A full write queue (a small
// maxPendingBytes and a slow disk) refuses proposals with StorageBackpressureError, retriable;
// an entry over maxEntryBytes is refused with StorageLimitError; the group never fails, keeps
// its leader, and commits again once the queue drained. A follower whose queue is full drops
// appends (the leader resends) instead of failing.
import t from 'tap'
import { CallbackLogger, type LogEntry, type NodeId, SeededRandom, VirtualClock } from '@blazar/env'
import { type RaftMessage, RaftNode, type StateMachine } from '@blazar/raft'
import { LogStore, SimDisk, StorageBackpressureError, StorageLimitError, type StoreSettings } from '@blazar/storage'

const KIB = 1024
/** Small enough that one burst of proposals overflows it; rounds and entries still fit. */
const settings: Partial<StoreSettings> = { maxPendingBytes: 64 * KIB, maxRoundBytes: 32 * KIB, maxEntryBytes: 16 * KIB }

class Counter implements StateMachine {
  applied = 0
  apply (entry: LogEntry): void { if (entry.kind === 1) this.applied++ }
  snapshot (): Uint8Array { return new Uint8Array(0) }
  restore (): void {}
}

interface Member { id: NodeId, node: RaftNode, disk: SimDisk, sm: Counter }

async function cluster (teardown: (fn: () => void) => void) {
  const clock = new VirtualClock()
  const random = new SeededRandom(7)
  const failures: string[] = []
  /** Replicated appends a follower dropped because its store refused them. */
  const dropped = new Map<NodeId, number>()
  const ids = ['n1', 'n2', 'n3']
  const members = new Map<NodeId, Member>()
  for (const id of ids) {
    const disk = new SimDisk({ clock, random: random.fork() })
    const store = await LogStore.open(disk, { settings })
    const storage = await store.openGroup('g')
    const sm = new Counter()
    const node: RaftNode = new RaftNode({
      id,
      group: 'g',
      env: {
        clock,
        random: random.fork(),
        logger: new CallbackLogger((record) => {
          if (record.message.startsWith('storage refused replicated entries')) dropped.set(id, (dropped.get(id) ?? 0) + 1)
        })
      },
      storage,
      send: (to: NodeId, message: RaftMessage) => { clock.setTimer(1, () => members.get(to)?.node.step(id, message)) },
      stateMachine: sm,
      bootstrap: { voters: ids, learners: [] },
      config: { electionTimeoutMs: 1000, heartbeatIntervalMs: 100 },
      observer: { onFailure: (error) => failures.push(`${id}: ${String(error)}`) }
    })
    members.set(id, { id, node, disk, sm })
    node.start()
  }
  const run = (ms: number) => clock.runUntil(clock.now() + ms)
  const leader = (): Member | undefined => [...members.values()].find((m) => m.node.status().role === 'leader')
  await run(5000)
  const first = leader()
  if (first === undefined) throw new Error('no leader elected')
  teardown(() => { for (const m of members.values()) m.node.stop() })
  return { clock, members, failures, dropped, run, leader, first }
}

function settled<T> (promises: Array<Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
  return Promise.allSettled(promises)
}

t.test('a full write queue on the leader refuses proposals with a typed retriable error; the group keeps running', async (t) => {
  const c = await cluster((fn) => t.teardown(fn))
  c.first.disk.latencyMs = 50
  const burst = settled(Array.from({ length: 64 }, () => c.first.node.propose(new Uint8Array(4 * KIB))))
  await c.run(10_000)
  const results = await burst
  const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as Error)
  t.ok(refused.length > 0, 'some proposals are refused while the queue is full')
  t.ok(results.some((r) => r.status === 'fulfilled'), 'the ones that fit are committed')
  t.ok(refused.every((e) => e instanceof StorageBackpressureError && e.code === 'STORAGE_BACKPRESSURE'), `typed refusals: ${refused.map(String).slice(0, 2).join('; ')}`)
  t.same(c.failures, [], 'no node failed')
  t.equal(c.leader()?.id, c.first.id, 'the leader kept its role')
  c.first.disk.latencyMs = 0
  const again = settled([c.first.node.propose(new Uint8Array(4 * KIB))])
  await c.run(2000)
  t.equal((await again)[0].status, 'fulfilled', 'once the queue drained a proposal commits again')
})

t.test('an entry over maxEntryBytes is refused with StorageLimitError and nothing is written', async (t) => {
  const c = await cluster((fn) => t.teardown(fn))
  const before = c.first.node.status().lastIndex
  const refused = await settled([c.first.node.propose(new Uint8Array(17 * KIB))])
  await c.run(100)
  t.equal(refused[0].status, 'rejected')
  const reason = (refused[0] as PromiseRejectedResult).reason as Error
  t.ok(reason instanceof StorageLimitError, String(reason))
  t.equal(c.first.node.status().lastIndex, before, 'the refused entry is not in the log')
  const ok = settled([c.first.node.propose(new Uint8Array(KIB))])
  await c.run(2000)
  t.equal((await ok)[0].status, 'fulfilled', 'the group goes on committing')
  t.same(c.failures, [])
})

t.test('a follower whose write queue is full drops appends instead of failing, then catches up', async (t) => {
  const c = await cluster((fn) => t.teardown(fn))
  const follower = [...c.members.values()].find((m) => m !== c.first)!
  follower.disk.latencyMs = 200
  const proposals: Array<Promise<number>> = []
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < 6; i++) proposals.push(c.first.node.propose(new Uint8Array(2 * KIB)))
    await c.run(20)
  }
  const outcome = settled(proposals)
  await c.run(5000)
  t.same(c.failures, [], 'no node failed')
  t.ok((c.dropped.get(follower.id) ?? 0) > 0, 'the slow follower refused appends while its queue was full')
  const results = await outcome
  t.ok(results.every((r) => r.status === 'fulfilled'), 'the leader commits with the other follower')
  follower.disk.latencyMs = 0
  await c.run(5000)
  t.equal(follower.node.status().appliedIndex, c.first.node.status().appliedIndex, 'the slow follower caught up')
  t.equal(c.leader()?.id, c.first.id)
})
