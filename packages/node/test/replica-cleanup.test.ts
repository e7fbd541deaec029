// ReplicaCleanup's decisions on the virtual clock, with the metadata, the store and the group
// leader's answer faked: a group is deleted only after a metadata barrier, when the committed
// state neither places nor moves it here, and when the topic is gone or the leader's membership
// (committed) no longer names this node; anything undecided is retried after REPLICA_CLEANUP_RETRY_MS.
import t from 'tap'
import { SeededRandom, silentLogger, VirtualClock } from '@blazar/env'
import { METADATA_GROUP } from '../src/metadata-service.ts'
import { REPLICA_CLEANUP_RETRY_MS, ReplicaCleanup, type LeaderMembership } from '../src/replica-cleanup.ts'

const GROUP = 'persistent://public/default/t-partition-0'

function fixture () {
  const clock = new VirtualClock()
  const state = {
    placements: new Map<string, string[]>([[GROUP, ['a', 'b', 'c']]]),
    moves: new Map<string, { from: string | null, to: string }>(),
    barrierFails: false,
    leader: { voters: ['a', 'b', 'c'], learners: [], committed: true } as LeaderMembership | null,
    hosted: new Set<string>(),
    stored: [METADATA_GROUP, GROUP],
    deleted: [] as string[]
  }
  const cleanup = new ReplicaCleanup({
    env: { clock, random: new SeededRandom(1), logger: silentLogger },
    self: 'c',
    store: {
      groupIds: () => state.stored,
      deleteGroup: async (group: string) => { state.deleted.push(group) }
    },
    metadata: {
      barrier: async () => { if (state.barrierFails) throw new Error('no metadata leader') },
      sm: {
        placement: (group: string) => {
          const replicas = state.placements.get(group)
          return replicas === undefined ? undefined : { replicas, preferredLeader: replicas[0] as string }
        },
        groupsOf: (node: string) => [...state.placements].filter(([group, replicas]) => replicas.includes(node) || state.moves.get(group)?.from === node).map(([group]) => group),
        move: (group: string) => state.moves.get(group)
      }
    },
    isHosted: (group) => state.hosted.has(group),
    leaderConfig: async () => state.leader
  })
  // Lets the pass under way finish (its continuations) before the clock moves on.
  const drain = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })
  const settle = async (ms = 0): Promise<void> => {
    await drain()
    await clock.runUntil(clock.now() + ms)
    await drain()
  }
  return { clock, state, cleanup, settle }
}

t.test('a replica moved off is deleted once the leader no longer counts this node', async (t) => {
  const { state, cleanup, settle } = fixture()
  state.placements.set(GROUP, ['a', 'b', 'd'])
  cleanup.released(GROUP)
  await settle()
  t.same(state.deleted, [], 'the leader still lists this node as a voter: kept')
  state.leader = { voters: ['a', 'b', 'd'], learners: [], committed: true }
  await settle(REPLICA_CLEANUP_RETRY_MS - 1)
  t.same(state.deleted, [], 'not before the retry interval')
  await settle(1)
  t.same(state.deleted, [GROUP], 'deleted at the retry')
  cleanup.stop()
})

t.test('a membership without this node that the leader has not committed yet is not enough', async (t) => {
  const { state, cleanup, settle } = fixture()
  state.placements.set(GROUP, ['a', 'b', 'd'])
  state.leader = { voters: ['a', 'b', 'd'], learners: [], committed: false }
  cleanup.released(GROUP)
  await settle(3 * REPLICA_CLEANUP_RETRY_MS)
  t.same(state.deleted, [], 'a leader elected after this one may still count this node: kept')
  state.leader = { voters: ['a', 'b', 'd'], learners: [], committed: true }
  await settle(REPLICA_CLEANUP_RETRY_MS)
  t.same(state.deleted, [GROUP], 'committed: deleted')
  cleanup.stop()
})

t.test('never while the placement names this node, a move brings it here or it is hosted', async (t) => {
  const { state, cleanup, settle } = fixture()
  state.leader = { voters: ['a', 'b'], learners: [], committed: true }
  cleanup.released(GROUP)
  await settle()
  t.same(state.deleted, [], 'placed here')
  state.placements.set(GROUP, ['a', 'b', 'd'])
  state.moves.set(GROUP, { from: 'c', to: 'd' })
  await settle(REPLICA_CLEANUP_RETRY_MS)
  t.same(state.deleted, [], 'a move off this node is still in flight (it hosts the group until it completes)')
  state.stored = [GROUP, 'persistent://public/default/u-partition-0']
  state.placements.set('persistent://public/default/u-partition-0', ['a', 'b', 'd'])
  state.moves.set('persistent://public/default/u-partition-0', { from: null, to: 'c' })
  state.hosted.add(GROUP)
  cleanup.sweep()
  await settle(REPLICA_CLEANUP_RETRY_MS)
  t.same(state.deleted, [], 'a move to this node, or a group it hosts, is kept')
  cleanup.stop()
})

t.test('nothing is decided on a metadata replica that cannot prove it is caught up', async (t) => {
  const { state, cleanup, settle } = fixture()
  state.placements.delete(GROUP)
  state.barrierFails = true
  cleanup.released(GROUP)
  await settle(3 * REPLICA_CLEANUP_RETRY_MS)
  t.same(state.deleted, [], 'the barrier failed: kept')
  state.barrierFails = false
  await settle(REPLICA_CLEANUP_RETRY_MS)
  t.same(state.deleted, [GROUP], 'the topic is gone: deleted without asking a leader')
  cleanup.stop()
})

t.test('the start-up sweep takes every stored group but the metadata group; no leader answer means wait', async (t) => {
  const { state, cleanup, settle } = fixture()
  state.placements.set(GROUP, ['a', 'b', 'd'])
  state.leader = null
  cleanup.sweep()
  await settle(2 * REPLICA_CLEANUP_RETRY_MS)
  t.same(state.deleted, [], 'no leader answered')
  state.leader = { voters: ['a', 'b'], learners: ['d'], committed: true }
  await settle(REPLICA_CLEANUP_RETRY_MS)
  t.same(state.deleted, [GROUP], 'the metadata group is never a candidate')
  cleanup.stop()
})
