// Recovery on open (docs/storage.md §5). The journal is read from the checkpoint on: a round that
// fails its checks at the tail of the last journal file, with no valid round after it, is a torn
// write and is cut off; any other bad round is corruption. Each group's journaled log operations
// are then replayed over what its segment files hold, and the segments are repaired to match.
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
  /** A bad round that is not a torn tail: every group must refuse until repaired. */
  corruption: CorruptionReport | null
  /** Journal files read (removed once a new checkpoint covers them). */
  files: string[]
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
    nextRoundSeq: checkpoint.nextRoundSeq,
    lastFileSeq: checkpoint.journalStart - 1,
    corruption: null,
    files: []
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
        for (const record of records) applyRecord(replay, refs, record)
        replay.nextRoundSeq++
        position += round.size
      }
    } finally {
      await file.close()
    }
  }
  return replay
}

function applyRecord (replay: JournalReplay, refs: Map<number, string>, record: JournalRecord): void {
  if (record.type === 'group') {
    refs.set(record.ref, record.group)
    return
  }
  const group = refs.get(record.ref)
  if (group === undefined) throw new RangeError(`journal record names undeclared group ${record.ref}`)
  let meta = replay.metas.get(group)
  if (meta === undefined) {
    meta = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null }
    replay.metas.set(group, meta)
  }
  if (record.type === 'hardState') {
    meta.hardState = record.state
    return
  }
  if (record.type === 'snapshot') meta.snapshot = record.meta
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
 * match. Returns a corruption report if synced data is missing or fails its checksum; the files
 * are then left as they are.
 */
export async function reconcileGroup (ctx: SegmentContext, dir: string, ops: readonly LogRecord[]): Promise<CorruptionReport | null> {
  let touched = Number.POSITIVE_INFINITY
  for (const op of ops) {
    if (op.type === 'truncate') touched = Math.min(touched, op.fromIndex)
    else if (op.type === 'snapshot') touched = Math.min(touched, op.meta.index + 1)
    else touched = Math.min(touched, op.stamps[0].index)
  }
  const scan = await SegmentLog.scan(ctx, dir, touched)
  let broken = scan.broken
  const report = (reason: string): CorruptionReport => broken === null
    ? { file: dir, offset: 0, reason }
    : { file: broken.file, offset: broken.offset, reason: `${broken.reason}; ${reason}` }
  let segEnd = scan.log.lastIndex()
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
  for (const op of ops) {
    if (op.type === 'snapshot') {
      if (op.reset) {
        segEnd = op.meta.index
        tail = []
        broken = null
      } else if (broken !== null && op.meta.index >= broken.index) {
        return report(`snapshot at ${op.meta.index} needs entries the segment cannot provide`)
      }
      continue
    }
    const needed = op.type === 'truncate' ? op.fromIndex - 1 : op.stamps[0].index - 1
    if (broken !== null && needed >= broken.index) return report(`journal needs entries up to ${needed}`)
    if (op.type === 'truncate') {
      keepThrough(needed)
      continue
    }
    if (needed > lastIndex()) return report(`entries ${lastIndex() + 1}..${needed} are missing`)
    keepThrough(needed)
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
  if (broken !== null) return report('synced entries fail their checks')
  // Entries already in the segment (same index, term and CRC) stay; the rest is rewritten.
  const firstStamp = scan.stamps.length > 0 ? scan.stamps[0].index : Number.POSITIVE_INFINITY
  let keep = segEnd
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
  await scan.log.truncateFrom(keep + 1)
  if (rewrite.length > 0) {
    if (scan.log.lastIndex() !== rewrite[0].stamp.index - 1) await scan.log.reset(rewrite[0].stamp.index - 1)
    const records = Buffer.concat(rewrite.map((item) => item.record!))
    const spans: RecordSpan[] = rewrite.map((item) => ({ index: item.stamp.index, size: item.record!.length }))
    await scan.log.append(records, spans)
  }
  return null
}
