// The RaftStorage compliance suite: one set of behaviours every disk implementation must give
// the log store. Run against the real disk (a temp dir) and the simulated disk.
import type { Test } from 'tap'
import type { LogEntry, RaftStorage } from '@blazar/env'
import { LogCompactedError } from '@blazar/env'
import type { Disk } from '../../src/disk.ts'
import type { StoreSettings } from '../../src/settings.ts'
import { LogStore } from '../../src/store.ts'

export interface DiskFixture {
  disk: Disk
  cleanup (): Promise<void>
}

export function entry (index: number, term: number, size = 8, kind = 1): LogEntry {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (index * 31 + i * 7 + term) & 0xff
  return { index, term, kind, data }
}

export function entries (from: number, to: number, term: number, size = 8): LogEntry[] {
  const list: LogEntry[] = []
  for (let index = from; index <= to; index++) list.push(entry(index, term, size))
  return list
}

async function readAll (log: RaftStorage): Promise<LogEntry[]> {
  return log.read(log.firstIndex(), log.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
}

export function complianceSuite (t: Test, makeFixture: () => Promise<DiskFixture>): void {
  const withStore = async (t: Test, settings: Partial<StoreSettings>, body: (reopen: () => Promise<LogStore>, fixture: DiskFixture) => Promise<void>): Promise<void> => {
    const fixture = await makeFixture()
    let store: LogStore | undefined
    const reopen = async (): Promise<LogStore> => {
      await store?.close()
      store = await LogStore.open(fixture.disk, { settings })
      return store
    }
    t.teardown(async () => {
      await store?.close()
      await fixture.cleanup()
    })
    await body(reopen, fixture)
  }

  t.test('an unknown group opens empty', async (t) => {
    await withStore(t, {}, async (reopen) => {
      const log = await (await reopen()).openGroup('orders/p0')
      t.same(log.recovered, { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, firstIndex: 1, lastIndex: 0, corruption: null })
      t.equal(log.termAt(0), 0)
      t.equal(log.termAt(1), undefined)
      t.same(await log.read(1, 10, 100), [])
    })
  })

  t.test('synced appends, hard state and terms survive a reopen', async (t) => {
    await withStore(t, {}, async (reopen) => {
      let log = await (await reopen()).openGroup('g')
      log.append(entries(1, 5, 1))
      log.append(entries(6, 9, 2))
      log.setHardState({ term: 2, vote: 'n2', commit: 4 })
      t.equal(log.lastIndex(), 9)
      t.equal(log.termAt(5), 1)
      t.equal(log.termAt(6), 2)
      t.same(await readAll(log), entries(1, 9, 1).slice(0, 5).concat(entries(6, 9, 2)), 'reads see unsynced entries')
      await log.sync()
      log = await (await reopen()).openGroup('g')
      t.same(log.recovered.hardState, { term: 2, vote: 'n2', commit: 4 })
      t.equal(log.recovered.lastIndex, 9)
      t.equal(log.termAt(9), 2)
      t.same(await readAll(log), entries(1, 5, 1).concat(entries(6, 9, 2)))
    })
  })

  t.test('read honours maxBytes, returns at least one entry, and refuses compacted indexes', async (t) => {
    await withStore(t, {}, async (reopen) => {
      const log = await (await reopen()).openGroup('g')
      log.append(entries(1, 20, 1, 100))
      await log.sync()
      t.equal((await log.read(1, 21, 250)).length, 2)
      t.equal((await log.read(3, 21, 1)).length, 1)
      t.same((await log.read(18, 100, 10_000)).map((e) => e.index), [18, 19, 20])
      await log.saveSnapshot({ index: 10, term: 1, config: { voters: ['a'], learners: [] } }, new Uint8Array([9]))
      t.equal(log.firstIndex(), 11)
      await t.rejects(log.read(5, 12, 1000), LogCompactedError)
      t.same((await log.read(11, 13, 1000)).map((e) => e.index), [11, 12])
    })
  })

  t.test('truncateSuffix replaces a conflicting suffix, durably', async (t) => {
    await withStore(t, {}, async (reopen) => {
      let log = await (await reopen()).openGroup('g')
      log.append(entries(1, 10, 1))
      await log.sync()
      log.truncateSuffix(6)
      t.equal(log.lastIndex(), 5)
      t.equal(log.termAt(6), undefined)
      log.append(entries(6, 8, 3))
      t.same((await readAll(log)).map((e) => e.term), [1, 1, 1, 1, 1, 3, 3, 3])
      await log.sync()
      log.truncateSuffix(8)
      log.append([entry(8, 4)])
      await log.sync()
      log = await (await reopen()).openGroup('g')
      t.same(await readAll(log), entries(1, 5, 1).concat(entries(6, 7, 3), [entry(8, 4)]))
    })
  })

  t.test('snapshots: a matching one keeps the suffix, a conflicting one resets the log', async (t) => {
    await withStore(t, {}, async (reopen) => {
      let log = await (await reopen()).openGroup('g')
      log.append(entries(1, 10, 1))
      await log.sync()
      const data = new Uint8Array(3000).map((_, i) => i & 0xff)
      const config = { voters: ['a', 'b', 'c'], learners: ['d'] }
      await log.saveSnapshot({ index: 6, term: 1, config }, data)
      t.equal(log.firstIndex(), 7)
      t.equal(log.lastIndex(), 10)
      t.equal(log.termAt(6), 1)
      t.equal(log.termAt(5), undefined)
      log.compact(6)
      log = await (await reopen()).openGroup('g')
      t.same(log.recovered.snapshot, { index: 6, term: 1, config })
      t.equal(log.recovered.firstIndex, 7)
      t.same((await readAll(log)).map((e) => e.index), [7, 8, 9, 10])
      t.same(await log.loadSnapshot(), { meta: { index: 6, term: 1, config }, data })
      await log.saveSnapshot({ index: 20, term: 5, config }, new Uint8Array([1]))
      t.equal(log.firstIndex(), 21)
      t.equal(log.lastIndex(), 20)
      log.append(entries(21, 22, 5))
      await log.sync()
      log = await (await reopen()).openGroup('g')
      t.equal(log.recovered.firstIndex, 21)
      t.same((await readAll(log)).map((e) => e.index), [21, 22])
      t.equal(log.termAt(20), 5)
    })
  })

  t.test('group commit: one journal fsync covers many groups', async (t) => {
    await withStore(t, {}, async (reopen) => {
      const store = await reopen()
      const logs = await Promise.all(Array.from({ length: 50 }, (_, i) => store.openGroup(`topic/p${i}`)))
      const before = store.stats().journalFsyncs
      for (const log of logs) log.append([entry(1, 1)])
      await Promise.all(logs.map((log) => log.sync()))
      t.equal(store.stats().journalFsyncs - before, 1)
      const reopened = await reopen()
      for (let i = 0; i < 50; i++) t.equal((await reopened.openGroup(`topic/p${i}`)).lastIndex(), 1)
    })
  })

  t.test('segments roll by size; reads cross segments; compaction removes whole segments', async (t) => {
    await withStore(t, { segmentBytes: 4096, sparseIndexBytes: 512, readBlockBytes: 1024, readCacheBytes: 8192 }, async (reopen, fixture) => {
      let log = await (await reopen()).openGroup('g')
      for (let i = 0; i < 20; i++) {
        log.append(entries(i * 10 + 1, i * 10 + 10, 1 + Math.floor(i / 5), 100))
        await log.sync()
      }
      const segmentFiles = async (): Promise<string[]> => (await fixture.disk.list('groups/g')).filter((name) => name.endsWith('.log'))
      const before = (await segmentFiles()).length
      t.ok(before > 3, `${before} segments`)
      t.same((await log.read(35, 75, 1e9)).map((e) => e.index), Array.from({ length: 40 }, (_, i) => 35 + i))
      log = await (await reopen()).openGroup('g')
      t.same((await readAll(log)).length, 200)
      t.equal(log.termAt(200), 4)
      await log.saveSnapshot({ index: 120, term: 3, config: { voters: ['a'], learners: [] } }, new Uint8Array(10))
      log.truncateSuffix(150)
      log.append(entries(150, 160, 5, 100))
      await log.sync()
      log = await (await reopen()).openGroup('g')
      const after = (await segmentFiles()).length
      t.ok(after < before && after > 0, `${before} -> ${after} segments`)
      t.equal(log.firstIndex(), 121)
      t.same((await readAll(log)).map((e) => e.index), Array.from({ length: 40 }, (_, i) => 121 + i))
      t.equal(log.termAt(155), 5)
    })
  })

  t.test('checkpoints trim the journal and recovery still finds everything', async (t) => {
    await withStore(t, { checkpointJournalBytes: 8192 }, async (reopen, fixture) => {
      const store = await reopen()
      const logs = await Promise.all([0, 1, 2].map((i) => store.openGroup(`g${i}`)))
      for (let round = 1; round <= 60; round++) {
        for (const [i, log] of logs.entries()) {
          log.append([entry(round, 1, 200)])
          log.setHardState({ term: 1, vote: null, commit: round - 1 + i })
        }
        await Promise.all(logs.map((log) => log.sync()))
      }
      t.ok(store.stats().checkpoints > 0, `${store.stats().checkpoints} checkpoints`)
      t.ok((await fixture.disk.list('journal')).length <= 2)
      const reopened = await reopen()
      for (let i = 0; i < 3; i++) {
        const log = await reopened.openGroup(`g${i}`)
        t.same(await readAll(log), Array.from({ length: 60 }, (_, k) => entry(k + 1, 1, 200)))
        t.same(log.recovered.hardState, { term: 1, vote: null, commit: 59 + i })
      }
    })
  })

  t.test('large appends go straight to the segment and survive a reopen', async (t) => {
    await withStore(t, { directWriteBytes: 4096 }, async (reopen) => {
      const store = await reopen()
      let log = await store.openGroup('big')
      log.append(entries(1, 4, 1, 3000))
      await log.sync()
      t.equal(store.stats().directWrites, 1)
      log.append([entry(5, 1, 10)])
      await log.sync()
      log.append(entries(6, 8, 2, 3000))
      await log.sync()
      log = await (await reopen()).openGroup('big')
      t.same(await readAll(log), entries(1, 4, 1, 3000).concat([entry(5, 1, 10)], entries(6, 8, 2, 3000)))
    })
  })

  t.test('invalid appends are refused', async (t) => {
    await withStore(t, { maxEntryBytes: 1000, maxRoundBytes: 4096 }, async (reopen) => {
      const log = await (await reopen()).openGroup('g')
      t.throws(() => log.append([entry(2, 1)]), { code: 'STORAGE_ASSERTION' })
      t.throws(() => log.append([entry(1, 1, 2000)]), { code: 'STORAGE_LIMIT' })
      log.append([entry(1, 2)])
      t.throws(() => log.append([entry(2, 1)]), { code: 'STORAGE_ASSERTION' })
    })
  })

  t.test('a deleted group leaves no directory, and its name opens empty again, across a reopen', async (t) => {
    await withStore(t, { segmentBytes: 4096, directWriteBytes: 2000 }, async (reopen, fixture) => {
      let store = await reopen()
      const log = await store.openGroup('tenant/ns/t-0')
      log.append(entries(1, 60, 1, 200))
      log.setHardState({ term: 1, vote: 'n1', commit: 60 })
      await log.sync()
      await log.saveSnapshot({ index: 20, term: 1, config: { voters: ['n1'], learners: [] } }, new Uint8Array([9]))
      const kept = await store.openGroup('kept')
      kept.append(entries(1, 3, 1))
      await kept.sync()
      t.ok((await fixture.disk.list('groups/tenant%2Fns%2Ft-0')).length > 1)
      await store.deleteGroup('tenant/ns/t-0')
      t.same(await fixture.disk.list('groups'), ['kept'], 'the directory is gone')
      t.throws(() => log.append(entries(61, 61, 1)), { code: 'GROUP_DELETED' })
      store = await reopen()
      t.same(store.groupIds(), ['kept'])
      const again = await store.openGroup('tenant/ns/t-0')
      t.same(again.recovered, { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, firstIndex: 1, lastIndex: 0, corruption: null })
      t.equal((await store.openGroup('kept')).lastIndex(), 3)
    })
  })
}
