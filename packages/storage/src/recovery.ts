// Recovery on open (docs/storage.md §5). The journal is read from the checkpoint on: a round that
// fails its checks at the tail of the last journal file, with no valid round after it, is a torn
// write and is cut off; any other bad round is corruption. Each group's journaled log operations
// are then replayed over what its segment files hold, and the segments are repaired to match.
// A deleteGroup record voids everything the checkpoint and the journal said of its group before
// it: the group's directory is then leftovers of a removal the crash interrupted (store.ts).
import type { CorruptionReport } from '@blazar/env'
import { readU32 } from './codec.ts'
import type { Disk } from './disk.ts'
import { joinPath } from './disk.ts'
import type { Checkpoint, GroupMeta } from './checkpoint.ts'
import type { EntryStamp, JournalRecord } from './journal-format.ts'
import {
  decodeJournalHeader, decodeRecords, JOURNAL_HEADER_BYTES, journalFileName, parseJournalFileName,
  parseRound, ROUND_HEADER_BYTES, ROUND_MAGIC
} from './journal-format.ts'
import { parseRecord } from './segment-format.ts'
import type { RecordSpan, SegmentContext } from './segment-log.ts'
import { SegmentLog } from './segment-log.ts'
import type { StoreSettings } from './settings.ts'

export type LogRecord = Extract<JournalRecord, { type: 'append' | 'appendRef' | 'truncate' | 'snapshot' }>

export interface JournalReplay {
  /** Log operations per group, in journal order. */
  groupOps: Map<string, LogRecord[]>
  /** Checkpointed group metadata updated by the journaled hard states and snapshots. */
  metas: Map<string, GroupMeta>
  nextRoundSeq: number
  /** Sequence number of the last journal file (the next one gets lastFileSeq + 1). */
  lastFileSeq: number
  /** Groups whose last journal record is a deleteGroup: what is left of their directory is removed. */
  deleted: Set<string>
  /** Groups with a deleteGroup record anywhere in the journal: their checkpointed state is void. */
  deletedInJournal: Set<string>
  /** A bad round that is not a torn tail: every group must refuse until repaired. */
  corruption: CorruptionReport | null
  /** Journal files read (removed once a new checkpoint covers them). */
  files: string[]
  /**
   * The last round, not yet applied: if it wrote entries straight to segments and they are not
   * all there, its fsyncs did not all complete, it was never acknowledged, and it is dropped.
   */
  lastRound: { path: string, position: number, records: Array<{ group: string, record: Exclude<JournalRecord, { type: 'group' }> }> } | null
}

export function stampsOf (maxEntryBytes: number) {
  return (records: Uint8Array, count: number): EntryStamp[] => {
    const stamps: EntryStamp[] = []
    let position = 0
    for (let i = 0; i < count; i++) {
      const record = parseRecord(records, position, maxEntryBytes)
      if (typeof record === 'string') throw new RangeError('inline journal record fails its checks inside a valid round')
      stamps.push({ index: record.index, term: record.term, crc: record.crc })
      position += record.size
    }
    return stamps
  }
}

export async function readJournal (disk: Disk, settings: StoreSettings, checkpoint: Checkpoint): Promise<JournalReplay> {
  const replay: JournalReplay = {
    groupOps: new Map(),
    metas: checkpoint.groups,
    deleted: new Set(),
    deletedInJournal: new Set(),
    nextRoundSeq: checkpoint.nextRoundSeq,
    lastFileSeq: checkpoint.journalStart - 1,
    corruption: null,
    files: [],
    lastRound: null
  }
  const seqs = (await disk.list('journal'))
    .map((name) => parseJournalFileName(name))
    .filter((seq): seq is number => seq !== undefined)
    .sort((a, b) => a - b)
  for (const seq of seqs.filter((seq) => seq < checkpoint.journalStart)) await disk.remove(joinPath('journal', journalFileName(seq)))
  const live = seqs.filter((seq) => seq >= checkpoint.journalStart)
  const parseStamps = stampsOf(settings.maxEntryBytes)
  for (let i = 0; i < live.length && replay.corruption === null; i++) {
    const path = joinPath('journal', journalFileName(live[i]))
    const isLast = i === live.length - 1
    replay.files.push(path)
    replay.lastFileSeq = live[i]
    const file = await disk.open(path, { create: false })
    try {
      const bytes = await file.read(0, await file.size())
      if (decodeJournalHeader(bytes) !== live[i]) {
        // A file whose header never became durable was being created when the node stopped.
        if (isLast && bytes.length <= JOURNAL_HEADER_BYTES) continue
        replay.corruption = { file: path, offset: 0, reason: 'bad journal file header' }
        break
      }
      const refs = new Map<number, string>()
      let position = JOURNAL_HEADER_BYTES
      while (position < bytes.length) {
        const round = parseRound(bytes, position, settings.maxRoundBytes)
        if (round.kind === 'bad' || round.roundSeq !== replay.nextRoundSeq) {
          if (isLast && !validRoundAfter(bytes, position + 1, settings.maxRoundBytes)) {
            await file.truncate(position)
            await file.sync()
          } else {
            replay.corruption = { file: path, offset: position, reason: round.kind === 'bad' ? 'bad journal round checksum' : `journal round ${round.roundSeq} where ${replay.nextRoundSeq} was expected` }
          }
          break
        }
        let records: JournalRecord[]
        try {
          records = decodeRecords(round.records, parseStamps)
        } catch (error) {
          replay.corruption = { file: path, offset: position, reason: `undecodable journal round: ${(error as Error).message}` }
          break
        }
        const resolved: Array<{ group: string, record: Exclude<JournalRecord, { type: 'group' }> }> = []
        for (const record of records) {
          if (record.type === 'group') {
            refs.set(record.ref, record.group)
            continue
          }
          const group = refs.get(record.ref)
          if (group === undefined) {
            replay.corruption = { file: path, offset: position, reason: `journal record names undeclared group ${record.ref}` }
            break
          }
          resolved.push({ group, record })
        }
        if (replay.corruption !== null) break
        if (replay.lastRound !== null) applyLastRound(replay)
        replay.lastRound = { path, position, records: resolved }
        replay.nextRoundSeq++
        position += round.size
      }
    } finally {
      await file.close()
    }
  }
  return replay
}

/** Applies the held-back last round to the replay. */
export function applyLastRound (replay: JournalReplay): void {
  const last = replay.lastRound
  replay.lastRound = null
  if (last !== null) for (const { group, record } of last.records) applyRecord(replay, group, record)
}

/** Drops the held-back last round: cuts it off the journal file. */
export async function dropLastRound (disk: Disk, replay: JournalReplay): Promise<void> {
  const last = replay.lastRound
  if (last === null) return
  replay.lastRound = null
  replay.nextRoundSeq--
  const file = await disk.open(last.path, { create: false })
  try {
    await file.truncate(last.position)
    await file.sync()
  } finally {
    await file.close()
  }
}

/** Whether every entry the last round wrote straight to a segment is in that segment. */
export async function lastRoundComplete (ctx: SegmentContext, replay: JournalReplay, groupDir: (group: string) => string): Promise<boolean> {
  for (const { group, record } of replay.lastRound?.records ?? []) {
    if (record.type !== 'appendRef') continue
    const scan = await SegmentLog.scan(ctx, groupDir(group), record.stamps[0].index)
    const first = scan.stamps[0]?.index ?? Number.POSITIVE_INFINITY
    for (const stamp of record.stamps) {
      const onDisk = scan.stamps[stamp.index - first]
      if (onDisk === undefined || onDisk.term !== stamp.term || onDisk.crc !== stamp.crc) return false
    }
  }
  return true
}

function applyRecord (replay: JournalReplay, group: string, record: Exclude<JournalRecord, { type: 'group' }>): void {
  if (record.type === 'deleteGroup') {
    replay.metas.delete(group)
    replay.groupOps.delete(group)
    replay.deleted.add(group)
    replay.deletedInJournal.add(group)
    return
  }
  // A record after a deleteGroup belongs to a group created again under the same name.
  replay.deleted.delete(group)
  let meta = replay.metas.get(group)
  if (meta === undefined) {
    meta = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, lastIndex: 0 }
    replay.metas.set(group, meta)
  }
  if (record.type === 'hardState') {
    meta.hardState = record.state
    return
  }
  if (record.type === 'snapshot') {
    meta.snapshot = record.meta
    if (record.reset) meta.lastIndex = record.meta.index
  } else if (record.type === 'truncate') {
    meta.lastIndex = Math.min(meta.lastIndex, record.fromIndex - 1)
  } else {
    meta.lastIndex = record.stamps[record.stamps.length - 1].index
  }
  let ops = replay.groupOps.get(group)
  if (ops === undefined) replay.groupOps.set(group, ops = [])
  ops.push(record)
}

/** Whether a round that passes its checks starts anywhere at or after `from`. */
function validRoundAfter (bytes: Uint8Array, from: number, maxRoundBytes: number): boolean {
  for (let position = from; position + ROUND_HEADER_BYTES <= bytes.length; position++) {
    if (readU32(bytes, position + 4) === ROUND_MAGIC && parseRound(bytes, position, maxRoundBytes).kind === 'ok') return true
  }
  return false
}

interface TailItem {
  stamp: EntryStamp
  /** The segment record, for entries the journal holds inline; absent for entries written straight to the segment. */
  record?: Uint8Array
}

/**
 * Replays one group's journaled log operations over its segment files and repairs the files to
 * match. Returns a corruption report if synced data is missing or fails its checksum (the files
 * are then left as they are), else the segment files that may hold data not yet synced.
 * Entries at or below the checkpointed snapshot's index may be gone already.
 */
export async function reconcileGroup (ctx: SegmentContext, dir: string, ops: readonly LogRecord[], checkpointed: { snapshotIndex: number, lastIndex: number }): Promise<{ corruption: CorruptionReport } | { unsynced: string[] }> {
  const checkpointSnapshotIndex = checkpointed.snapshotIndex
  let touched = Number.POSITIVE_INFINITY
  for (const op of ops) {
    if (op.type === 'truncate') touched = Math.min(touched, op.fromIndex)
    else if (op.type === 'snapshot') touched = Math.min(touched, op.meta.index + 1)
    else touched = Math.min(touched, op.stamps[0].index)
  }
  const scan = await SegmentLog.scan(ctx, dir, touched)
  let broken = scan.broken
  const report = (reason: string): { corruption: CorruptionReport } => ({
    corruption: broken === null
      ? { file: dir, offset: 0, reason }
      : { file: broken.file, offset: broken.offset, reason: `${broken.reason}; ${reason}` }
  })
  let segEnd = Math.max(scan.log.lastIndex(), checkpointSnapshotIndex)
  let tail: TailItem[] = []
  const lastIndex = (): number => tail.length > 0 ? tail[tail.length - 1].stamp.index : segEnd
  const keepThrough = (index: number): void => {
    if (index < segEnd) {
      segEnd = index
      tail = []
    } else if (index < lastIndex()) {
      tail.length = index - segEnd
    }
    if (broken !== null && index < broken.index) broken = null
  }
  // Later operations may have destroyed entries an earlier one needed (a truncation removes files,
  // a snapshot removes leading segments). For operation k, only entries above floorAfter[k] and
  // at or below cutAfter[k] must still be on disk; the others are discarded by the end.
  const cutAfter: number[] = new Array(ops.length)
  const floorAfter: number[] = new Array(ops.length)
  let laterCut = Number.POSITIVE_INFINITY
  let laterFloor = checkpointSnapshotIndex
  for (let k = ops.length - 1; k >= 0; k--) {
    cutAfter[k] = laterCut
    floorAfter[k] = laterFloor
    const op = ops[k]
    if (op.type === 'truncate') laterCut = Math.min(laterCut, op.fromIndex - 1)
    if (op.type === 'snapshot') {
      laterFloor = Math.max(laterFloor, op.meta.index)
      if (op.reset) laterCut = Math.min(laterCut, op.meta.index)
    }
  }
  const snapshotFloor = laterFloor
  // The log's last index as the journal knows it, operation by operation.
  let journalLast = checkpointed.lastIndex
  for (let k = 0; k < ops.length; k++) {
    const op = ops[k]
    if (op.type === 'snapshot') {
      if (op.reset) {
        segEnd = op.meta.index
        tail = []
        broken = null
        journalLast = op.meta.index
        continue
      }
      if (broken !== null) {
        if (Math.max(broken.index, op.meta.index + 1, floorAfter[k] + 1) <= Math.min(cutAfter[k], journalLast)) return report(`snapshot at ${op.meta.index} keeps entries the segment cannot provide`)
        broken = null
      }
      if (lastIndex() <= op.meta.index) {
        segEnd = op.meta.index
        tail = []
      } else if (segEnd < op.meta.index) {
        tail = tail.filter((item) => item.stamp.index > op.meta.index)
        segEnd = op.meta.index
      }
      continue
    }
    const needed = op.type === 'truncate' ? op.fromIndex - 1 : op.stamps[0].index - 1
    const mustHave = Math.min(needed, cutAfter[k])
    if (mustHave > floorAfter[k]) {
      if (broken !== null && broken.index <= mustHave) return report(`journal needs entries up to ${mustHave}`)
      if (lastIndex() < mustHave) return report(`entries ${lastIndex() + 1}..${mustHave} are missing`)
    }
    if (broken !== null && broken.index <= needed) broken = null
    if (lastIndex() < needed) {
      // The missing entries are discarded by a later truncation or snapshot: stand in for them.
      if (tail.length === 0) segEnd = needed
      else for (let index = lastIndex() + 1; index <= needed; index++) tail.push({ stamp: { index, term: -1, crc: -1 } })
    }
    keepThrough(needed)
    if (op.type === 'truncate') {
      journalLast = Math.min(journalLast, needed)
      continue
    }
    journalLast = op.stamps[op.stamps.length - 1].index
    if (op.type === 'appendRef') {
      for (const stamp of op.stamps) tail.push({ stamp })
    } else {
      let position = 0
      for (const stamp of op.stamps) {
        const record = parseRecord(op.records, position, ctx.settings.maxEntryBytes)
        if (typeof record === 'string') throw new RangeError('inline journal record fails its checks inside a valid round')
        tail.push({ stamp, record: op.records.subarray(position, position + record.size) })
        position += record.size
      }
    }
  }
  if (broken !== null && broken.index <= lastIndex()) return report('synced entries fail their checks')
  // Entries already in the segment (same index, term and CRC) stay; the rest is rewritten.
  const firstStamp = scan.stamps.length > 0 ? scan.stamps[0].index : Number.POSITIVE_INFINITY
  tail = tail.filter((item) => item.stamp.index > snapshotFloor)
  if (tail.some((item) => item.stamp.term < 0)) return report('an entry the journal discards was never replaced')
  let keep = Math.max(segEnd, snapshotFloor)
  let i = 0
  for (; i < tail.length; i++) {
    const item = tail[i]
    const onDisk = scan.stamps[item.stamp.index - firstStamp]
    if (item.stamp.index !== keep + 1 || keep + 1 > scan.log.lastIndex() || onDisk === undefined) break
    if (onDisk.term !== item.stamp.term || onDisk.crc !== item.stamp.crc) break
    keep++
  }
  const rewrite = tail.slice(i)
  if (rewrite.some((item) => item.record === undefined)) return report(`entries from ${rewrite[0].stamp.index} were synced to a segment and are missing`)
  await scan.log.dropUnscanned()
  // With only direct appends journaled, valid records past the journal's end are later direct
  // appends that needed no journal record (store.ts): kept. Otherwise they are stale and cut.
  const onlyDirect = ops.every((op) => op.type === 'appendRef')
  if (!(onlyDirect && rewrite.length === 0)) await scan.log.truncateFrom(keep + 1)
  if (rewrite.length > 0) {
    if (scan.log.lastIndex() !== rewrite[0].stamp.index - 1) await scan.log.reset(rewrite[0].stamp.index - 1)
    const records = Buffer.concat(rewrite.map((item) => item.record!))
    const spans: RecordSpan[] = rewrite.map((item) => ({ index: item.stamp.index, size: item.record!.length }))
    await scan.log.append(records, spans, true)
  }
  return { unsynced: scan.log.pathsFrom(touched) }
}
