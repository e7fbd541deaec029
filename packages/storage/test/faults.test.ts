// The simulated disk's fault model against the store: failing fsync, bit rot in synced data,
// torn journal tails, a corrupted journal, a slow disk on the virtual clock, a full disk.
import t from 'tap'
import { SeededRandom, StorageFatalError, VirtualClock } from '@blazar/env'
import { SimDisk } from '../src/sim-disk.ts'
import { LogStore } from '../src/store.ts'
import { entries, entry } from './support/compliance.ts'

const small = { segmentBytes: 2048, sparseIndexBytes: 256 }

t.test('a failed fsync is fatal: the sync rejects, nothing is retried, later writes are refused', async (t) => {
  const disk = new SimDisk()
  const store = await LogStore.open(disk)
  const log = await store.openGroup('g')
  log.append([entry(1, 1)])
  await log.sync()
  const syncsBefore = disk.syncCount()
  disk.failNextSyncs(1)
  log.append([entry(2, 1)])
  await t.rejects(log.sync(), StorageFatalError)
  t.equal(disk.syncCount(), syncsBefore, 'no fsync was retried')
  t.throws(() => log.append([entry(3, 1)]), StorageFatalError)
  t.throws(() => log.setHardState({ term: 1, vote: null, commit: 0 }), StorageFatalError)
  await t.rejects(log.sync(), StorageFatalError)
  await t.rejects(store.openGroup('other'), StorageFatalError)
  const restarted = disk.crash('power')
  const reopened = await (await LogStore.open(restarted)).openGroup('g')
  t.equal(reopened.lastIndex(), 1, 'the synced entry survives; the one whose fsync failed may not')
})

t.test('a flipped bit in the middle of a closed segment is reported as corruption, not truncated away', async (t) => {
  const disk = new SimDisk()
  let store = await LogStore.open(disk, { settings: small })
  let log = await store.openGroup('orders/p1')
  for (let i = 0; i < 10; i++) {
    log.append(entries(i * 10 + 1, i * 10 + 10, 1, 50))
    await log.sync()
  }
  await store.close()
  const segments = disk.paths().filter((path) => path.endsWith('.log'))
  t.ok(segments.length >= 3)
  const closed = segments[1]
  const bytes = disk.peek(closed)!
  const middle = bytes.length >> 1
  disk.flipBit(closed, middle, 3)
  store = await LogStore.open(disk, { settings: small })
  log = await store.openGroup('orders/p1')
  const report = log.recovered.corruption
  t.ok(report !== null, 'corruption reported')
  t.equal(report?.file, closed)
  t.ok(report !== null && report.offset <= middle && report.offset > middle - 100, `offset ${report?.offset} is the damaged record`)
  t.equal(disk.peek(closed)!.length, bytes.length, 'the segment was not truncated')
  t.ok(disk.paths().includes(segments[2]), 'later segments were kept')
  t.throws(() => log.append([entry(101, 1)]), { code: 'GROUP_CORRUPTED' })
  await t.rejects(log.read(1, 5, 100), { code: 'GROUP_CORRUPTED' })
  await store.close()
  store = await LogStore.open(disk, { settings: small })
  log = await store.openGroup('orders/p1')
  t.same(log.recovered.corruption, report, 'still refusing after a restart')
  // Repair: a snapshot from a peer replaces the whole log.
  await log.saveSnapshot({ index: 100, term: 1, config: { voters: ['a'], learners: [] } }, new Uint8Array([7]))
  log.append([entry(101, 2)])
  await log.sync()
  await store.close()
  store = await LogStore.open(disk, { settings: small })
  log = await store.openGroup('orders/p1')
  t.equal(log.recovered.corruption, null, 'repaired')
  t.same((await log.read(101, 102, 100)).map((e) => e.term), [2])
})

t.test('a torn journal tail is cut off; a bad round before valid ones is corruption of every group', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    let disk = new SimDisk({ random: new SeededRandom(seed) })
    const store = await LogStore.open(disk)
    const log = await store.openGroup('g')
    log.append(entries(1, 5, 1, 3000))
    await log.sync()
    log.append(entries(6, 9, 1, 3000))
    const pending = log.sync().catch(() => {})
    for (let i = 0; i < seed % 4; i++) await Promise.resolve()
    disk = disk.crash('torn')
    await pending
    const reopened = await (await LogStore.open(disk)).openGroup('g')
    t.equal(reopened.recovered.corruption, null, `seed ${seed}: no corruption`)
    t.ok(reopened.lastIndex() === 5 || reopened.lastIndex() === 9, `seed ${seed}: last ${reopened.lastIndex()}`)
  }
  let disk = new SimDisk()
  const store = await LogStore.open(disk)
  const a = await store.openGroup('a')
  const b = await store.openGroup('b')
  for (let i = 1; i <= 3; i++) {
    a.append([entry(i, 1, 100)])
    b.append([entry(i, 1, 100)])
    await Promise.all([a.sync(), b.sync()])
  }
  disk = disk.crash('process')
  const journal = disk.paths().find((path) => path.startsWith('journal/'))!
  disk.flipBit(journal, 60)
  const reopened = await LogStore.open(disk)
  for (const name of ['a', 'b']) {
    const log = await reopened.openGroup(name)
    t.equal(log.recovered.corruption?.file, journal, `group ${name} refuses after journal corruption`)
  }
})

t.test('a slow disk: sync resolves only when the virtual clock has covered the latency; still one fsync per round', async (t) => {
  const clock = new VirtualClock()
  const disk = new SimDisk({ clock, latencyMs: 5 })
  const settled = async <T>(promise: Promise<T>): Promise<T> => {
    let result: { value: T } | undefined
    void promise.then((value) => { result = { value } })
    while (result === undefined) await clock.runUntil(clock.now() + 1)
    return result.value
  }
  const store = await settled(LogStore.open(disk))
  const logs = []
  for (let i = 0; i < 20; i++) logs.push(await settled(store.openGroup(`g${i}`)))
  const before = store.stats().journalFsyncs
  const start = clock.now()
  let synced = 0
  for (const log of logs) {
    log.append([entry(1, 1)])
    void log.sync().then(() => { synced++ })
  }
  await clock.runUntil(start + 4)
  t.equal(synced, 0, 'nothing is durable before the disk has answered')
  while (synced < 20 && clock.now() < start + 1000) await clock.runUntil(clock.now() + 1)
  t.equal(synced, 20)
  t.ok(clock.now() - start >= 10, `took ${clock.now() - start} virtual ms (a write and an fsync of 5 ms each)`)
  t.equal(store.stats().journalFsyncs - before, 1, 'one journal fsync for the 20 groups')
})

t.test('a full disk is fatal like a failed fsync: nothing more is written, the synced data survives', async (t) => {
  const disk = new SimDisk()
  const store = await LogStore.open(disk)
  const log = await store.openGroup('g')
  log.append([entry(1, 1)])
  await log.sync()
  disk.full = true
  const sizes = disk.paths().map((path) => disk.peek(path)?.length)
  log.append([entry(2, 1)])
  await t.rejects(log.sync(), StorageFatalError)
  t.same(disk.paths().map((path) => disk.peek(path)?.length), sizes, 'no file grew')
  disk.full = false
  const reopened = await (await LogStore.open(disk.crash('power'))).openGroup('g')
  t.equal(reopened.lastIndex(), 1, 'the synced entry survives')
})
