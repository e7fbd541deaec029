// LogStore.deleteGroup on the simulated disk: the directory is removed durably, the handle
// refuses, a group created again under the same name starts empty, and a crash at every point of
// a delete leaves the group either intact or gone (never reported corrupt), with its neighbour
// untouched.
import t from 'tap'
import type { LogEntry, RaftStorage } from '@blazar/env'
import { SeededRandom, VirtualClock } from '@blazar/env'
import { GroupDeletedError } from '../src/errors.ts'
import { SimDisk } from '../src/sim-disk.ts'
import type { CrashMode } from '../src/sim-disk.ts'
import { LogStore } from '../src/store.ts'
import { entries } from './support/compliance.ts'

const settings = { segmentBytes: 2048, sparseIndexBytes: 256, directWriteBytes: 1500 }
/** Every round journals inline and the journal is small: rounds start with a checkpoint. */
const checkpointing = { ...settings, directWriteBytes: 1 << 20, checkpointJournalBytes: 2048 }
const config = { voters: ['a', 'b', 'c'], learners: [] }

async function readAll (log: RaftStorage): Promise<LogEntry[]> {
  return log.read(log.firstIndex(), log.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
}

function groupFiles (disk: SimDisk, dir: string): string[] {
  return disk.paths().filter((path) => path.startsWith(`groups/${dir}/`))
}

/** A group with a snapshot, several segments (some only in the journal since the last checkpoint) and a hard state. */
async function fill (store: LogStore, group: string): Promise<RaftStorage> {
  const log = await store.openGroup(group)
  log.append(entries(1, 40, 1, 60))
  log.setHardState({ term: 1, vote: 'a', commit: 30 })
  await log.sync()
  await log.saveSnapshot({ index: 10, term: 1, config }, new Uint8Array([1, 2, 3]))
  log.append(entries(41, 80, 1, 60))
  await log.sync()
  return log
}

t.test('a deleted group is gone from disk, its handle refuses, and the same name starts empty', async (t) => {
  const disk = new SimDisk()
  let store = await LogStore.open(disk, { settings })
  const log = await fill(store, 'tenant/ns/t-0')
  const before = (await readAll(await fill(store, 'tenant/ns/t-1'))).map((e) => e.index)
  t.ok(groupFiles(disk, 'tenant%2Fns%2Ft-0').length >= 3, 'the group has segments and a snapshot')
  t.same(store.groupIds(), ['tenant/ns/t-0', 'tenant/ns/t-1'])
  await store.deleteGroup('tenant/ns/t-0')
  t.same(groupFiles(disk, 'tenant%2Fns%2Ft-0'), [], 'every file of the group is removed')
  t.notOk((await disk.list('groups')).includes('tenant%2Fns%2Ft-0'), 'and its directory')
  t.same(store.groupIds(), ['tenant/ns/t-1'])
  t.equal(store.stats().deletedGroups, 1)
  t.throws(() => log.append(entries(81, 81, 1)), GroupDeletedError)
  t.throws(() => log.setHardState({ term: 2, vote: null, commit: 0 }), GroupDeletedError)
  await t.rejects(log.read(11, 20, 1000), GroupDeletedError)
  const again = await store.openGroup('tenant/ns/t-0')
  t.equal(again.lastIndex(), 0, 'opened again, the group is empty')
  t.equal(again.recovered.snapshot, null)
  t.same(again.recovered.hardState, { term: 0, vote: null, commit: 0 })
  again.append(entries(1, 3, 5))
  await again.sync()
  await store.deleteGroup('never/seen')
  t.notOk(store.groupIds().includes('never/seen'), 'deleting an unknown group does nothing')
  // A power failure now: the journal holds the delete record and then the new group's records.
  store = await LogStore.open(disk.crash('power'), { settings })
  const reopened = await store.openGroup('tenant/ns/t-0')
  t.same((await readAll(reopened)).map((e) => [e.index, e.term]), [[1, 5], [2, 5], [3, 5]], 'the new group recovers alone')
  t.equal(reopened.recovered.snapshot, null, 'no trace of the old snapshot')
  t.same((await readAll(await store.openGroup('tenant/ns/t-1'))).map((e) => e.index), before, 'the neighbour is untouched')
  await store.close()
})

t.test('a group created again after a delete keeps its direct writes across a crash', async (t) => {
  // The journal holds the delete record, then an appendRef for the first direct write and none
  // for the second (journal-free): recovery must not take the new directory for leftovers.
  const disk = new SimDisk()
  let store = await LogStore.open(disk, { settings })
  await fill(store, 'g')
  await store.deleteGroup('g')
  const again = await store.openGroup('g')
  again.append(entries(1, 15, 2, 100))
  await again.sync()
  again.append(entries(16, 30, 2, 100))
  await again.sync()
  store = await LogStore.open(disk.crash('process'), { settings })
  const reopened = await store.openGroup('g')
  t.equal(reopened.recovered.corruption, null)
  t.equal(reopened.lastIndex(), 30, 'the acknowledged direct write survives')
  await store.close()
})

t.test('no checkpoint trims the delete record while the directory is still being removed', async (t) => {
  // A slow disk (every operation takes 1 virtual ms) makes time, not microtasks, the measure:
  // the removal of a hundred files outlasts the neighbour's rounds, each starting a checkpoint.
  const clock = new VirtualClock()
  const disk = new SimDisk({ clock })
  const store = await LogStore.open(disk, { settings: { ...checkpointing, segmentBytes: 512 } })
  const victim = await fill(store, 'victim')
  for (let index = 81; index <= 480; index += 4) {
    // One batch never spans segment files: small synced batches make many files.
    victim.append(entries(index, index + 3, 1, 60))
    await victim.sync()
  }
  await store.idle()
  const neighbour = await fill(store, 'neighbour')
  await store.idle()
  const files = groupFiles(disk, 'victim').length
  disk.latencyMs = 1
  let done = false
  const deleting = store.deleteGroup('victim').then(() => { done = true })
  // Checkpoints completed since the removal started (the delete record is durable by then).
  let removalStartedAt: number | null = null
  let checkpointedEarly = false
  let next = 81
  let syncing = false
  while (!done && clock.now() < 100_000) {
    if (!syncing) {
      syncing = true
      neighbour.append(entries(next, next, 1, 600))
      next++
      void neighbour.sync().then(() => { syncing = false })
    }
    await clock.runUntil(clock.now() + 1)
    const left = groupFiles(disk, 'victim').length
    if (removalStartedAt === null && left < files) removalStartedAt = store.stats().checkpoints
    if (removalStartedAt !== null && left > 0 && store.stats().checkpoints > removalStartedAt) checkpointedEarly = true
  }
  await deleting
  while (syncing) await clock.runUntil(clock.now() + 1)
  t.ok(files > 50 && removalStartedAt !== null, `the removal of ${files} files was watched`)
  t.notOk(checkpointedEarly, 'no checkpoint completed while the directory was half removed')
  t.ok(next - 81 > 1, `the neighbour synced ${next - 81} rounds meanwhile`)
  disk.latencyMs = 0
  await store.close()
})

t.test('a crash at any point of a delete leaves the group intact or gone, never corrupt', async (t) => {
  const outcomes = { intact: 0, gone: 0, interrupted: 0 }
  for (const mode of ['process', 'power', 'torn'] as CrashMode[]) {
    for (let ticks = 0; ticks < 400; ticks += ticks < 60 ? 1 : 10) {
      const disk = new SimDisk({ random: new SeededRandom(ticks) })
      const store = await LogStore.open(disk, { settings: checkpointing })
      const victim = await fill(store, 'victim')
      // Enough segment files that the removal outlasts a checkpoint started beside it.
      victim.append(entries(81, 600, 1, 60))
      await victim.sync()
      const before = (await readAll(victim)).map((e) => [e.index, e.term])
      const neighbour = await fill(store, 'neighbour')
      // The neighbour's rounds run beside the delete, each starting with a checkpoint (small journal).
      neighbour.append(entries(81, 85, 1, 60))
      const deleting = store.deleteGroup('victim').then(() => true, () => false)
      const neighbourSync = neighbour.sync().then(() => {
        neighbour.append(entries(86, 90, 1, 60))
        return neighbour.sync()
      }).catch(() => {})
      for (let i = 0; i < ticks; i++) await Promise.resolve()
      const restarted = disk.crash(mode)
      const finished = await deleting
      await neighbourSync
      const reopened = await LogStore.open(restarted, { settings: checkpointing })
      const present = (await restarted.list('groups')).includes('victim')
      const log = await reopened.openGroup('victim')
      t.equal(log.recovered.corruption, null, `${mode} after ${ticks} ticks: no corruption`)
      const after = (await readAll(log)).map((e) => [e.index, e.term])
      if (present) {
        t.same(after, before, `${mode} after ${ticks} ticks: the group is intact`)
        t.equal(log.recovered.snapshot?.index, 10)
        t.notOk(finished, 'a delete that resolved is never undone')
        outcomes.intact++
      } else {
        t.same(after, [], `${mode} after ${ticks} ticks: the group is gone`)
        t.equal(log.recovered.snapshot, null)
        outcomes.gone++
        if (!finished) outcomes.interrupted++
      }
      const survivor = await reopened.openGroup('neighbour')
      t.equal(survivor.recovered.corruption, null)
      t.ok([80, 85, 90].includes(survivor.lastIndex()), 'the neighbour keeps what it synced')
      await reopened.close()
    }
  }
  t.ok(outcomes.intact > 0 && outcomes.gone > 0 && outcomes.interrupted > 0, `crashes hit both sides of the commit point and the removal (${JSON.stringify(outcomes)})`)
})
