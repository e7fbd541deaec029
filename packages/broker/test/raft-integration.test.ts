// The partition state machine replicated by real RaftNodes (@blazar/raft) on a virtual clock:
// every replica reaches the same state, message IDs come from the leader's committed index, and
// a follower that becomes leader serves the same committed batches and cursors.
import t from 'tap'
import { SeededRandom, VirtualClock, silentLogger, type NodeId } from '@blazar/env'
import { MemoryRaftStorage, RaftNode, type RaftMessage } from '@blazar/raft'
import { encodePartitionEntry, type PartitionEntry } from '@blazar/protocol'
import { PartitionStateMachine } from '../src/index.ts'
import { batch } from './fixtures/partition-log.ts'

const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

function cluster (ids: NodeId[]) {
  const clock = new VirtualClock()
  const random = new SeededRandom(7)
  const down = new Set<NodeId>()
  const replicas = new Map<NodeId, { node: RaftNode, sm: PartitionStateMachine, storage: MemoryRaftStorage }>()
  for (const id of ids) {
    const storage = new MemoryRaftStorage({ clock, syncLatencyMs: 1 })
    const sm = new PartitionStateMachine({
      topic: 'persistent://public/default/orders-partition-0',
      partition: 0,
      logger: silentLogger,
      readLog: (from, to, maxBytes) => storage.read(from, to, maxBytes)
    })
    const node = new RaftNode({
      id,
      group: 'persistent://public/default/orders-partition-0',
      env: { clock, random: random.fork(), logger: silentLogger },
      storage,
      stateMachine: sm,
      bootstrap: { voters: ids, learners: [] },
      config: { electionTimeoutMs: 1000, heartbeatIntervalMs: 100 },
      send: (to: NodeId, message: RaftMessage) => {
        if (down.has(id) || down.has(to)) return
        clock.setTimer(1, () => { if (!down.has(to)) replicas.get(to)?.node.step(id, message) })
      }
    })
    replicas.set(id, { node, sm, storage })
  }
  for (const { node } of replicas.values()) node.start()
  const leader = () => [...replicas.entries()].find(([id, r]) => !down.has(id) && r.node.status().role === 'leader')
  const waitForLeader = async () => {
    for (let i = 0; i < 200 && leader() === undefined; i++) await clock.runUntil(clock.now() + 100)
    const found = leader()
    if (found === undefined) throw new Error('no leader')
    return found
  }
  const propose = async (entry: PartitionEntry) => {
    const [, { node, sm }] = await waitForLeader()
    const { kind, data } = encodePartitionEntry(entry)
    const result = node.propose(data, kind)
    let index: number | undefined
    result.then((i) => { index = i }, () => {})
    for (let i = 0; i < 100 && index === undefined; i++) await clock.runUntil(clock.now() + 10)
    if (index === undefined) throw new Error('proposal did not commit')
    return { index, outcome: sm.outcome(index) }
  }
  return { clock, replicas, down, leader, waitForLeader, propose }
}

t.test('three replicas apply the same partition state; a new leader serves the same messages and cursor', async (t) => {
  const c = cluster(['a', 'b', 'c'])
  await c.waitForLeader()
  await c.propose({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Exclusive', initialPosition: 'Earliest' } })
  const sent = []
  for (let i = 0; i < 20; i++) sent.push(await c.propose({ kind: 'batch', body: { ...batch('producer-1', i * 2, 2), publishTime: c.clock.now() } }))
  for (const { index, outcome } of sent) t.same(outcome, { kind: 'stored', firstMessageId: { partition: 0, index, batchIndex: 0 }, messageCount: 2 })
  await c.propose({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: sent[9].index, ackedRanges: [[sent[12].index, sent[12].index]] } })
  await c.clock.runUntil(c.clock.now() + 500)
  await settle()
  const snapshots = [...c.replicas.values()].map((r) => Buffer.from(r.sm.snapshot()).toString('hex'))
  t.equal(new Set(snapshots).size, 1, 'identical state on every replica')

  const [oldLeader] = (await c.waitForLeader())
  c.down.add(oldLeader)
  c.replicas.get(oldLeader)!.node.stop()
  await c.clock.runUntil(c.clock.now() + 5_000)
  const [newLeader, replica] = await c.waitForLeader()
  t.not(newLeader, oldLeader)
  t.same(replica.sm.cursor('s')?.ackedRanges, [[sent[12].index, sent[12].index]])
  t.equal(replica.sm.backlog('s'), 2 * 9)
  const batches = await replica.sm.read(sent[10].index, { maxEntries: 100, maxBytes: 1 << 20 })
  t.same(batches.map((b) => b.index), sent.slice(10).map((s) => s.index))
  const more = await c.propose({ kind: 'batch', body: { ...batch('producer-1', 40, 1), publishTime: c.clock.now() } })
  t.equal(more.outcome?.kind, 'stored')
  t.ok(more.index > sent[19].index)
  for (const { node } of c.replicas.values()) node.stop()
})
