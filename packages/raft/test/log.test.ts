// Unit tests of RaftLog (pending writes over storage, the entry cache) and of MemoryRaftStorage's
// durability model (only synced writes survive a crash).
import t from 'tap'
import { LogCompactedError, type LogEntry, VirtualClock } from '@blazar/env'
import { RaftLog } from '../src/log.ts'
import { MemoryRaftStorage } from '../src/memory-storage.ts'

const entry = (index: number, term: number, text = `e${index}`): LogEntry => ({ index, term, kind: 1, data: new TextEncoder().encode(text) })

t.test('pending writes are visible to the core before the shell hands them to storage', async (t) => {
  const storage = new MemoryRaftStorage()
  const log = new RaftLog(storage, 1024)
  log.append([entry(1, 1), entry(2, 1), entry(3, 2)])
  t.equal(log.lastIndex(), 3)
  t.equal(log.termAt(3), 2)
  t.equal(storage.lastIndex(), 0, 'nothing written yet')
  const writes = log.takeWrites()
  t.same(writes.entries.map((e) => e.index), [1, 2, 3])
  t.equal(writes.truncateFrom, undefined)
  storage.append(writes.entries)
  log.truncate(2)
  log.append([entry(2, 3)])
  t.equal(log.termAt(2), 3)
  t.equal(log.termAt(1), 1)
  const again = log.takeWrites()
  t.equal(again.truncateFrom, 2)
  t.same(again.entries.map((e) => `${e.index}:${e.term}`), ['2:3'])
  storage.truncateSuffix(2)
  storage.append(again.entries)
  t.equal(storage.termAt(2), 3)
})

t.test('the cache is bounded and falls back to storage', async (t) => {
  const storage = new MemoryRaftStorage()
  const log = new RaftLog(storage, 8)
  const entries = [entry(1, 1, 'aaaa'), entry(2, 1, 'bbbb'), entry(3, 1, 'cccc')]
  log.append(entries)
  storage.append(log.takeWrites().entries)
  log.append([entry(4, 1, 'dddd')])
  storage.append(log.takeWrites().entries)
  t.equal(log.cached(1, 5, 100), undefined, 'old entries were evicted')
  t.same(log.cached(3, 5, 100)?.map((e) => e.index), [3, 4])
  t.same(log.cached(3, 5, 1)?.map((e) => e.index), [3], 'at least one entry even over maxBytes')
  t.equal(log.termAt(1), 1, 'terms still come from storage')
})

t.test('MemoryRaftStorage: a crash keeps exactly what a resolved sync covered', async (t) => {
  const clock = new VirtualClock()
  const storage = new MemoryRaftStorage({ clock, syncLatencyMs: 5 })
  storage.append([entry(1, 1), entry(2, 1)])
  storage.setHardState({ term: 1, vote: 'a', commit: 1 })
  const first = storage.sync()
  await clock.runUntil(5)
  await first
  storage.append([entry(3, 1)])
  storage.setHardState({ term: 2, vote: 'b', commit: 2 })
  let resolved = false
  storage.sync().then(() => { resolved = true }, () => {})
  await clock.runUntil(7)
  storage.crash()
  await clock.runUntil(20)
  t.notOk(resolved, 'a sync pending at the crash never resolves')
  t.equal(storage.lastIndex(), 2)
  t.same(storage.recovered.hardState, { term: 1, vote: 'a', commit: 1 })
  t.same(storage.durableEntries().map((e) => e.index), [1, 2])
})

t.test('MemoryRaftStorage: snapshots compact the log and keep a matching suffix', async (t) => {
  const storage = new MemoryRaftStorage()
  storage.append([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)])
  await storage.sync()
  await storage.saveSnapshot({ index: 3, term: 2, config: { voters: ['a'], learners: [] } }, new Uint8Array([1]))
  t.equal(storage.firstIndex(), 4)
  t.equal(storage.lastIndex(), 4)
  t.equal(storage.termAt(3), 2, 'the snapshot index answers its term')
  await t.rejects(storage.read(2, 4, 100), LogCompactedError)
  await storage.saveSnapshot({ index: 6, term: 5, config: { voters: ['a'], learners: [] } }, new Uint8Array([2]))
  t.equal(storage.lastIndex(), 6, 'a snapshot past a conflicting log replaces it')
  t.equal(storage.firstIndex(), 7)
  storage.crash()
  t.equal(storage.recovered.snapshot?.index, 6, 'the snapshot is durable')
  t.equal(storage.recovered.hardState.commit, 6)
})
