// Storage refusals (a full write queue, an entry over a limit) are flow control, not failures:
// a refused proposal rejects with the storage's typed error and leaves no trace in the log; a
// follower whose storage refuses drops the append unanswered and catches up once it has room;
// no node fails and the leader keeps its role. MemoryRaftStorage.refuseReservations plays the
// full storage (the real LogStore: packages/sim/test/storage-backpressure.test.ts).
import t from 'tap'
import { StorageBackpressureError, StorageLimitError } from '@blazar/env'
import { encoder, threeNodesLedByOne } from './support/cluster.ts'

t.test('a proposal the leader storage refuses rejects with the typed error, before any effect', async (t) => {
  const c = await threeNodesLedByOne()
  const leader = c.get('1')
  const before = leader.node.status().lastIndex
  leader.storage.refuseReservations(new StorageBackpressureError(300, 256))
  const refused = await leader.node.propose(encoder.encode('a=1')).then(() => null, (error: unknown) => error)
  t.ok(refused instanceof StorageBackpressureError, String(refused))
  t.equal(leader.node.status().lastIndex, before, 'nothing was appended')
  leader.storage.refuseReservations(new StorageLimitError('maxEntryBytes', 3, 2, 'entry'))
  await t.rejects(leader.node.propose(encoder.encode('a=1')), StorageLimitError)
  await t.rejects(leader.node.addLearner('4'), StorageLimitError, 'a config change reserves too')
  leader.storage.refuseReservations(null)
  const index = leader.node.propose(encoder.encode('a=2'))
  await c.run(100)
  t.equal(await index, before + 1, 'once storage has room again the next proposal commits')
  t.same(c.leaders(), ['1'])
  t.same(c.violations, [], 'no node failed, no oracle complaint')
})

t.test('a follower whose storage refuses drops appends and catches up once it has room', async (t) => {
  const c = await threeNodesLedByOne()
  const follower = c.get('3')
  follower.storage.refuseReservations(new StorageBackpressureError(300, 256))
  const stuckAt = follower.node.status().lastIndex
  const committed = Array.from({ length: 5 }, (_, i) => c.get('1').node.propose(encoder.encode(`k=${i}`)))
  await c.run(500)
  t.equal((await Promise.all(committed)).length, 5, 'the leader commits with the other follower')
  t.equal(follower.node.status().lastIndex, stuckAt, 'the refusing follower took nothing')
  follower.storage.refuseReservations(null)
  await c.run(2000)
  t.equal(follower.node.status().appliedIndex, c.get('1').node.status().appliedIndex, 'it caught up')
  t.same(c.leaders(), ['1'])
  t.same(c.violations, [])
})

t.test('a write that fails in the end-of-turn flush of proposals stops the node through onFailure, never as an uncaught error', async (t) => {
  const c = await threeNodesLedByOne()
  const leader = c.get('1')
  leader.storage.append = () => { throw new Error('disk gone') }
  const outcome = leader.node.propose(encoder.encode('a=1')).then(() => null, (error: unknown) => error)
  await c.run(10)
  t.match(String(await outcome), /RaftStoppedError/, 'the pending proposal is rejected')
  t.match(c.violations, [/1 failed: Error: disk gone/], 'reported through onFailure')
})
