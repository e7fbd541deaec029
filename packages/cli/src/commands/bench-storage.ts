// `blazar bench storage`: the log store against the raw limit of the same disk, in one run.
// The limit is a plain loop of write + fdatasync of the same bytes to a fresh file. Figures:
// MB/s for 100 B records in batches of 1,000 and for 1 MiB batches; synced appends/s with 1, 100
// and 1,000 groups appending 100 B records concurrently (each: append, sync, repeat) against
// the raw fsync rate; fsync calls per second in every case; heap per idle group. All files live
// under os.tmpdir() and are removed afterwards.
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { LogStore, NodeDisk } from '@blazar/storage'
import type { LogEntry, RaftStorage } from '@blazar/env'
import type { BenchRegistration } from './bench.ts'
import { median, writeBenchReport } from '../bench/report.ts'
import type { BenchFigures } from '../bench/report.ts'

const MiB = 1024 * 1024
const SMALL_RECORD_BYTES = 100
const SMALL_BATCH = 1000

interface Rate {
  mbPerSecond: number
  appendsPerSecond: number
  fsyncsPerSecond: number
}

async function withTempDir<T> (use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'blazar-bench-storage-'))
  try {
    return await use(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The limit: write `bytesPerWrite` at the end of a fresh file, fdatasync, repeat. */
function rawLoop (bytesPerWrite: number, seconds: number): Promise<Rate> {
  return withTempDir(async (dir) => {
    const file = await open(join(dir, 'raw'), 'w')
    const buffer = Buffer.alloc(bytesPerWrite, 0x5a)
    let position = 0
    let writes = 0
    const start = performance.now()
    const deadline = start + seconds * 1000
    while (performance.now() < deadline) {
      await file.write(buffer, 0, bytesPerWrite, position)
      await file.datasync()
      position += bytesPerWrite
      writes++
    }
    const elapsed = (performance.now() - start) / 1000
    await file.close()
    return { mbPerSecond: position / elapsed / 1e6, appendsPerSecond: writes / elapsed, fsyncsPerSecond: writes / elapsed }
  })
}

function entryFactory (bytes: number): (index: number) => LogEntry {
  const data = new Uint8Array(bytes).fill(0x5a)
  return (index) => ({ index, term: 1, kind: 1, data })
}

/** One group appending batches of `batch` entries of `entryBytes`, syncing after each. */
function storeThroughput (batch: number, entryBytes: number, seconds: number): Promise<Rate> {
  return withTempDir(async (dir) => {
    const store = await LogStore.open(new NodeDisk(dir))
    const log = await store.openGroup('bench/throughput')
    const makeEntry = entryFactory(entryBytes)
    const fsyncsBefore = store.stats().fsyncs
    let appended = 0
    const start = performance.now()
    const deadline = start + seconds * 1000
    while (performance.now() < deadline) {
      const from = log.lastIndex() + 1
      log.append(Array.from({ length: batch }, (_, i) => makeEntry(from + i)))
      await log.sync()
      appended += batch
    }
    const elapsed = (performance.now() - start) / 1000
    const fsyncs = store.stats().fsyncs - fsyncsBefore
    await store.close()
    return { mbPerSecond: appended * entryBytes / elapsed / 1e6, appendsPerSecond: appended / elapsed, fsyncsPerSecond: fsyncs / elapsed }
  })
}

/** `groups` groups each appending one 100 B entry and syncing, concurrently, in a loop. */
function storeGroups (groups: number, seconds: number): Promise<Rate> {
  return withTempDir(async (dir) => {
    const store = await LogStore.open(new NodeDisk(dir))
    const logs: RaftStorage[] = []
    for (let i = 0; i < groups; i++) logs.push(await store.openGroup(`bench/p${i}`))
    const makeEntry = entryFactory(SMALL_RECORD_BYTES)
    const fsyncsBefore = store.stats().fsyncs
    let appended = 0
    const start = performance.now()
    const deadline = start + seconds * 1000
    await Promise.all(logs.map(async (log) => {
      while (performance.now() < deadline) {
        log.append([makeEntry(log.lastIndex() + 1)])
        await log.sync()
        appended++
      }
    }))
    const elapsed = (performance.now() - start) / 1000
    const fsyncs = store.stats().fsyncs - fsyncsBefore
    await store.close()
    return { mbPerSecond: appended * SMALL_RECORD_BYTES / elapsed / 1e6, appendsPerSecond: appended / elapsed, fsyncsPerSecond: fsyncs / elapsed }
  })
}

function collectGarbage (): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
}

/** Heap (and heap + external buffers) per idle group: `groups` groups with 3 synced entries each. */
function idleGroupMemory (groups: number): Promise<{ heapBytesPerGroup: number, totalBytesPerGroup: number }> {
  return withTempDir(async (dir) => {
    const store = await LogStore.open(new NodeDisk(dir))
    collectGarbage()
    const before = process.memoryUsage()
    const makeEntry = entryFactory(SMALL_RECORD_BYTES)
    const logs: RaftStorage[] = []
    for (let i = 0; i < groups; i++) {
      const log = await store.openGroup(`tenant/ns/topic-${i}`)
      log.append([makeEntry(1), makeEntry(2), makeEntry(3)])
      log.setHardState({ term: 1, vote: 'node-1', commit: 3 })
      logs.push(log)
    }
    await Promise.all(logs.map((log) => log.sync()))
    // Let the last round's segment writes finish, then measure with every handle still open.
    await store.idle()
    collectGarbage()
    const after = process.memoryUsage()
    const heapBytesPerGroup = (after.heapUsed - before.heapUsed) / groups
    const totalBytesPerGroup = (after.heapUsed + after.external - before.heapUsed - before.external) / groups
    if (logs.length !== groups) throw new Error('lost a group handle')
    await store.close()
    return { heapBytesPerGroup, totalBytesPerGroup }
  })
}

function round (value: number, digits = 1): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

export const registerStorageBench: BenchRegistration = (bench) => {
  bench.command('storage')
    .description('log store vs the raw write+fdatasync limit of the same disk: MB/s, synced appends/s with 1/100/1000 groups, fsyncs/s, idle memory')
    .option('--json', 'print the figures as one JSON object on the last line')
    .option('--runs <n>', 'runs per figure (median reported)', '3')
    .option('--seconds <n>', 'seconds per measurement', '2')
    .option('--idle-groups <n>', 'groups opened for the idle-memory figure', '10000')
    .action(async (options: { json?: boolean, runs: string, seconds: string, idleGroups: string }) => {
      const runs = Number(options.runs)
      const seconds = Number(options.seconds)
      const cases: Record<string, () => Promise<Rate>> = {
        raw_1MiB: () => rawLoop(MiB, seconds),
        blazar_1MiB: () => storeThroughput(1, MiB, seconds),
        raw_100B_x1000: () => rawLoop(SMALL_RECORD_BYTES * SMALL_BATCH, seconds),
        blazar_100B_x1000: () => storeThroughput(SMALL_BATCH, SMALL_RECORD_BYTES, seconds),
        raw_100B: () => rawLoop(SMALL_RECORD_BYTES, seconds),
        blazar_groups_1: () => storeGroups(1, seconds),
        blazar_groups_100: () => storeGroups(100, seconds),
        blazar_groups_1000: () => storeGroups(1000, seconds)
      }
      const samples: Record<string, Rate[]> = {}
      for (let run = 0; run < runs; run++) {
        for (const [name, measure] of Object.entries(cases)) {
          const rate = await measure()
          ;(samples[name] ??= []).push(rate)
          console.error(`run ${run + 1}/${runs} ${name}: ${rate.mbPerSecond.toFixed(1)} MB/s, ${rate.appendsPerSecond.toFixed(0)} appends/s, ${rate.fsyncsPerSecond.toFixed(0)} fsyncs/s`)
        }
      }
      const med = (name: string, field: keyof Rate): number => median(samples[name].map((rate) => rate[field]))
      const memory = await idleGroupMemory(Number(options.idleGroups))
      const largeRatio = med('blazar_1MiB', 'mbPerSecond') / med('raw_1MiB', 'mbPerSecond')
      const smallRatio = med('blazar_100B_x1000', 'mbPerSecond') / med('raw_100B_x1000', 'mbPerSecond')
      const groupsOverRawFsync = med('blazar_groups_1000', 'appendsPerSecond') / med('raw_100B', 'fsyncsPerSecond')
      const fsyncs1000Over1 = med('blazar_groups_1000', 'fsyncsPerSecond') / med('blazar_groups_1', 'fsyncsPerSecond')
      const figures: BenchFigures = {
        seconds,
        raw_1MiB_MBps: round(med('raw_1MiB', 'mbPerSecond')),
        blazar_1MiB_MBps: round(med('blazar_1MiB', 'mbPerSecond')),
        blazar_1MiB_fsyncs_per_s: round(med('blazar_1MiB', 'fsyncsPerSecond')),
        raw_1MiB_fsyncs_per_s: round(med('raw_1MiB', 'fsyncsPerSecond')),
        large_batch_ratio: round(largeRatio, 3),
        raw_100B_x1000_MBps: round(med('raw_100B_x1000', 'mbPerSecond')),
        blazar_100B_x1000_MBps: round(med('blazar_100B_x1000', 'mbPerSecond')),
        blazar_100B_x1000_fsyncs_per_s: round(med('blazar_100B_x1000', 'fsyncsPerSecond')),
        small_batch_ratio: round(smallRatio, 3),
        raw_fsyncs_per_s: round(med('raw_100B', 'fsyncsPerSecond')),
        groups_1_appends_per_s: round(med('blazar_groups_1', 'appendsPerSecond')),
        groups_1_fsyncs_per_s: round(med('blazar_groups_1', 'fsyncsPerSecond')),
        groups_100_appends_per_s: round(med('blazar_groups_100', 'appendsPerSecond')),
        groups_100_fsyncs_per_s: round(med('blazar_groups_100', 'fsyncsPerSecond')),
        groups_1000_appends_per_s: round(med('blazar_groups_1000', 'appendsPerSecond')),
        groups_1000_fsyncs_per_s: round(med('blazar_groups_1000', 'fsyncsPerSecond')),
        groups_1000_appends_over_raw_fsyncs: round(groupsOverRawFsync, 2),
        groups_1000_fsyncs_over_groups_1: round(fsyncs1000Over1, 3),
        idle_groups: Number(options.idleGroups),
        idle_heap_bytes_per_group: Math.round(memory.heapBytesPerGroup),
        idle_heap_and_buffers_bytes_per_group: Math.round(memory.totalBytesPerGroup),
        target_large_batch_ge_0_8: largeRatio >= 0.8,
        target_groups_1000_ge_10x_raw_fsyncs: groupsOverRawFsync >= 10,
        target_fsyncs_1000_le_1_group: fsyncs1000Over1 <= 1
      }
      writeBenchReport({
        bench: 'storage',
        runs,
        figures,
        summary: [
          `storage bench, median of ${runs} runs of ${seconds} s each (raw = write + fdatasync loop on the same disk)`,
          `1 MiB batches: blazar ${figures.blazar_1MiB_MBps} MB/s vs raw ${figures.raw_1MiB_MBps} MB/s = ${figures.large_batch_ratio} (target >= 0.8); fsyncs/s ${figures.blazar_1MiB_fsyncs_per_s} vs ${figures.raw_1MiB_fsyncs_per_s}`,
          `100 B x 1000 batches: blazar ${figures.blazar_100B_x1000_MBps} MB/s vs raw ${figures.raw_100B_x1000_MBps} MB/s = ${figures.small_batch_ratio}; fsyncs/s ${figures.blazar_100B_x1000_fsyncs_per_s}`,
          `raw fsync rate (100 B writes): ${figures.raw_fsyncs_per_s}/s`,
          `synced appends/s (fsyncs/s): 1 group ${figures.groups_1_appends_per_s} (${figures.groups_1_fsyncs_per_s}), 100 groups ${figures.groups_100_appends_per_s} (${figures.groups_100_fsyncs_per_s}), 1000 groups ${figures.groups_1000_appends_per_s} (${figures.groups_1000_fsyncs_per_s})`,
          `1000 groups: ${figures.groups_1000_appends_over_raw_fsyncs}x the raw fsync rate (target >= 10); fsyncs/s ${figures.groups_1000_fsyncs_over_groups_1}x one group's (target <= 1)`,
          `idle memory: ${figures.idle_heap_bytes_per_group} B heap per group (${figures.idle_heap_and_buffers_bytes_per_group} B with buffers) over ${figures.idle_groups} groups with 3 entries each`
        ]
      }, { json: options.json === true })
    })
}
