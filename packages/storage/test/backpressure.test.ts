// Flow control of the write queue: reserve() refuses entries with a typed error once pending
// plus reserved bytes would pass maxPendingBytes, before any effect; a group's next write takes
// its reservation over; syncs drain the queue; writes themselves never refuse for room (Raft has
// already taken reserved entries into its log, so a refused write would split log and store).
import t from 'tap'
import { StorageBackpressureError, StorageLimitError } from '@blazar/env'
import { SimDisk } from '../src/sim-disk.ts'
import { LogStore } from '../src/store.ts'
import { entries, entry } from './support/compliance.ts'

const KIB = 1024
const settings = { maxPendingBytes: 8 * KIB, maxRoundBytes: 4 * KIB, maxEntryBytes: 2 * KIB }

t.test('reserve refuses once the queue is full, before any effect; a sync drains it', async (t) => {
  const store = await LogStore.open(new SimDisk(), { settings })
  const log = await store.openGroup('g')
  let next = 1
  let refused: unknown
  for (; next <= 100; next++) {
    const batch = [entry(next, 1, KIB)]
    try {
      log.reserve(batch)
    } catch (error) {
      refused = error
      break
    }
    log.append(batch)
  }
  t.ok(refused instanceof StorageBackpressureError, String(refused))
  t.equal((refused as StorageBackpressureError).code, 'STORAGE_BACKPRESSURE')
  t.ok(next > 4 && next < 10, `about maxPendingBytes of entries were taken (${next - 1})`)
  t.equal(log.lastIndex(), next - 1, 'the refused entry was not appended')
  t.doesNotThrow(() => {
    log.setHardState({ term: 1, vote: 'n1', commit: 0 })
    log.truncateSuffix(next - 1)
  }, 'hard-state and truncation records are never refused')
  await log.sync()
  t.doesNotThrow(() => log.reserve([entry(next - 1, 1, KIB)]), 'room again once the round is durable')
})

t.test('reservations count against the limit across groups until their write', async (t) => {
  const store = await LogStore.open(new SimDisk(), { settings })
  const a = await store.openGroup('a')
  const b = await store.openGroup('b')
  const big = entries(1, 3, 1, 2 * KIB)
  a.reserve(big)
  t.throws(() => b.reserve(entries(1, 2, 1, 2 * KIB)), StorageBackpressureError, 'a reservation of another group holds the room')
  a.append(big)
  t.throws(() => b.reserve(entries(1, 2, 1, 2 * KIB)), StorageBackpressureError, 'appended, the bytes are pending: still held')
  await a.sync()
  t.doesNotThrow(() => b.reserve(entries(1, 2, 1, 2 * KIB)))
  b.append(entries(1, 2, 1, 2 * KIB))
  await b.sync()
  // Five rounds of 2 KiB: a reservation that outlived its append would refuse by the fourth.
  t.resolves(async () => {
    for (let i = 0; i < 5; i++) {
      a.reserve([entry(4 + i, 1, 2 * KIB)])
      a.append([entry(4 + i, 1, 2 * KIB)])
      await a.sync()
    }
  }, 'the append took each reservation over: nothing leaks across rounds')
})

t.test('an entry over maxEntryBytes is a StorageLimitError, at reserve and at append', async (t) => {
  const store = await LogStore.open(new SimDisk(), { settings })
  const log = await store.openGroup('g')
  const tooBig = [entry(1, 1, 2 * KIB + 1)]
  const error = t.throws(() => log.reserve(tooBig)) as unknown as StorageLimitError
  t.ok(error instanceof StorageLimitError)
  t.same([error.code, error.limit, error.value, error.max], ['STORAGE_LIMIT', 'maxEntryBytes', 2 * KIB + 1, 2 * KIB])
  t.throws(() => log.append(tooBig), StorageLimitError)
  t.equal(log.lastIndex(), 0)
})
