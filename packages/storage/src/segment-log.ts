// One group's segment files: the physical log. Appends go to the last segment until it reaches
// segmentBytes; truncation cuts one file and removes the later ones; compaction removes whole
// leading segments. A sparse index per segment (one point per sparseIndexBytes) bounds how much a
// read or a truncation scans to find an entry. Reads go through the node-wide block cache.
import type { LogEntry } from '@blazar/env'
import type { Disk } from './disk.ts'
import { joinPath } from './disk.ts'
import { assert, GroupCorruptedError } from './errors.ts'
import type { FileCache } from './file-cache.ts'
import type { EntryStamp } from './journal-format.ts'
import type { ReadCache } from './read-cache.ts'
import {
  decodeSegmentHeader, encodeSegmentHeader, parseRecord, parseSegmentFileName, RECORD_HEADER_BYTES,
  recordEntry, SEGMENT_HEADER_BYTES, segmentFileName
} from './segment-format.ts'
import type { StoreSettings } from './settings.ts'
import { TermRuns } from './term-runs.ts'
import { readU32 } from './codec.ts'

/** What segment files need from the store. */
export interface SegmentContext {
  disk: Disk
  files: FileCache
  cache: ReadCache
  settings: StoreSettings
  /** Called for every file or directory sync issued (fsync accounting). */
  countSync (): void
  /** Called when a log's write-behind buffer grows or is written out (node-wide bound). */
  noteBuffered (log: SegmentLog, delta: number): void
}

interface Segment {
  firstIndex: number
  /** firstIndex - 1 while empty. */
  lastIndex: number
  /** Bytes in use, header included. */
  size: number
  path: string
  sparseIndexes: number[]
  sparsePositions: number[]
}

/** Where a scan stopped before the end of the files: the first byte it could not accept. */
export interface ScanBreak {
  file: string
  offset: number
  /** Index of the first entry the scan could not read. */
  index: number
  reason: string
}

export interface ScanResult {
  log: SegmentLog
  terms: TermRuns
  /** Stamps of the valid entries with index >= the scan's stampsFrom. */
  stamps: EntryStamp[]
  broken: ScanBreak | null
}

/** Entry sizes of a batch of records being appended. */
export interface RecordSpan {
  index: number
  size: number
}

const SCAN_WINDOW_BYTES = 1 << 20

/** Removes a file of a group's directory, closing it and dropping its cached blocks first. */
export async function removeCachedFile (ctx: SegmentContext, path: string): Promise<void> {
  await ctx.files.forget(path)
  ctx.cache.invalidateFrom(path, 0)
  await ctx.disk.remove(path)
}

export class SegmentLog {
  readonly dir: string
  private readonly ctx: SegmentContext
  private segments: Segment[] = []
  /** Index just before the first physical entry while there are no segments. */
  private base: number
  /** Bumped by every change that removes or rewrites bytes (a concurrent read then retries). */
  generation = 0
  /**
   * Write-behind: records appended to the last segment and not yet written to its file (at most
   * segmentWriteBufferBytes; written before any read, cut, removal, direct write or checkpoint).
   */
  private pending: { path: string, position: number, create: boolean, parts: Uint8Array[], bytes: number } | null = null
  private flushing: Promise<void> = Promise.resolve()
  /** Bytes past the valid scan (a torn tail or a broken file) and files after it, removed by dropUnscanned(). */
  private unscanned: { tail: { path: string, size: number } | null, files: string[] } = { tail: null, files: [] }

  constructor (ctx: SegmentContext, dir: string, base: number) {
    this.ctx = ctx
    this.dir = dir
    this.base = base
  }

  firstIndex (): number {
    return this.segments.length > 0 ? this.segments[0].firstIndex : this.base + 1
  }

  lastIndex (): number {
    const last = this.segments.at(-1)
    return last === undefined ? this.base : last.lastIndex
  }

  /** Paths of the segments holding entries >= index, or ending just before it (the last segment at least, if any). */
  pathsFrom (index: number): string[] {
    return this.segments.filter((segment, i) => segment.lastIndex >= index - 1 || i === this.segments.length - 1).map((segment) => segment.path)
  }

  segmentCount (): number {
    return this.segments.length
  }

  /** Reads every segment file of `dir`, checking each record, up to the first one that fails. */
  static async scan (ctx: SegmentContext, dir: string, stampsFrom: number): Promise<ScanResult> {
    const names = (await ctx.disk.list(dir))
      .map((name) => ({ name, first: parseSegmentFileName(name) }))
      .filter((file): file is { name: string, first: number } => file.first !== undefined)
      .sort((a, b) => a.first - b.first)
    const log = new SegmentLog(ctx, dir, names.length > 0 ? names[0].first - 1 : 0)
    const terms = new TermRuns()
    const stamps: EntryStamp[] = []
    let broken: ScanBreak | null = null
    for (const { name, first } of names) {
      const path = joinPath(dir, name)
      if (broken !== null) {
        log.unscanned.files.push(path)
        continue
      }
      const expected = log.lastIndex() + 1
      broken = await ctx.files.with(path, false, async (file) => {
        const fileSize = await file.size()
        const header = await file.read(0, SEGMENT_HEADER_BYTES)
        if (decodeSegmentHeader(header) !== first) return { file: path, offset: 0, index: expected, reason: 'bad segment header' }
        if (log.segments.length > 0 && first !== expected) return { file: path, offset: 0, index: expected, reason: `segment starts at ${first}, expected ${expected}` }
        const segment: Segment = { firstIndex: first, lastIndex: first - 1, size: SEGMENT_HEADER_BYTES, path, sparseIndexes: [], sparsePositions: [] }
        log.segments.push(segment)
        let windowStart = SEGMENT_HEADER_BYTES
        let window = await file.read(windowStart, SCAN_WINDOW_BYTES)
        let position = 0
        while (windowStart + position < fileSize) {
          const record = parseRecord(window, position, ctx.settings.maxEntryBytes)
          if (record === 'short') {
            if (windowStart + window.length >= fileSize) return { file: path, offset: windowStart + position, index: segment.lastIndex + 1, reason: 'torn record at the end of the segment' }
            const needed = RECORD_HEADER_BYTES + (window.length - position >= 8 ? readU32(window, position + 4) : 0)
            windowStart += position
            position = 0
            window = await file.read(windowStart, Math.max(SCAN_WINDOW_BYTES, needed))
            continue
          }
          const offset = windowStart + position
          if (record === 'bad') return { file: path, offset, index: segment.lastIndex + 1, reason: 'bad record checksum or length' }
          if (record.index !== segment.lastIndex + 1) return { file: path, offset, index: segment.lastIndex + 1, reason: `record holds index ${record.index}, expected ${segment.lastIndex + 1}` }
          log.noteRecord(segment, record.index, offset, record.size)
          terms.append(record.index, record.term)
          if (record.index >= stampsFrom) stamps.push({ index: record.index, term: record.term, crc: record.crc })
          position += record.size
        }
        return null
      })
      if (broken !== null) {
        const segment = log.segments.at(-1)
        if (segment !== undefined && segment.path === path) log.unscanned.tail = { path, size: segment.size }
        else log.unscanned.files.push(path)
      }
    }
    return { log, terms, stamps, broken }
  }

  /** Removes what the scan could not accept: the torn tail of the last valid file and every file after it. */
  async dropUnscanned (): Promise<void> {
    await this.flush()
    const { tail, files } = this.unscanned
    this.unscanned = { tail: null, files: [] }
    if (tail !== null) {
      await this.ctx.files.with(tail.path, false, (file) => file.truncate(tail.size))
      this.ctx.cache.invalidateFrom(tail.path, tail.size)
    }
    for (const path of files) await this.removeFile(path)
    if (files.length > 0) await this.syncDir()
    this.generation++
  }

  /**
   * Appends records (already encoded, contiguous from lastIndex() + 1) to the last segment,
   * starting a new one first when it is full. They are buffered (write-behind) unless `immediate`
   * or the buffer is full; `flush()` writes them. Returns the segment's path and whether it is new.
   */
  async append (records: Uint8Array, spans: readonly RecordSpan[], immediate: boolean): Promise<{ path: string, created: boolean }> {
    assert(spans.length > 0 && spans[0].index === this.lastIndex() + 1, `segment append at ${spans[0]?.index} does not follow ${this.lastIndex()}`)
    let segment = this.segments.at(-1)
    let created = false
    if (segment === undefined || segment.size >= this.ctx.settings.segmentBytes) {
      await this.flush()
      const first = spans[0].index
      segment = { firstIndex: first, lastIndex: first - 1, size: SEGMENT_HEADER_BYTES, path: joinPath(this.dir, segmentFileName(first)), sparseIndexes: [], sparsePositions: [] }
      this.segments.push(segment)
      created = true
    }
    const target = segment
    if (this.pending === null || this.pending.path !== target.path) {
      await this.flush()
      this.pending = { path: target.path, position: created ? 0 : target.size, create: created, parts: [], bytes: 0 }
    }
    const copy = records.slice()
    if (created) this.pending.parts.push(encodeSegmentHeader(target.firstIndex))
    this.pending.parts.push(copy)
    this.pending.bytes += copy.length
    this.ctx.noteBuffered(this, copy.length)
    let offset = target.size
    for (const span of spans) {
      this.noteRecord(target, span.index, offset, span.size)
      offset += span.size
    }
    if (immediate || this.pending.bytes >= this.ctx.settings.segmentWriteBufferBytes) await this.flush()
    return { path: target.path, created }
  }

  /** Whether the next append starts a new segment file. */
  startsNewSegment (): boolean {
    const last = this.segments.at(-1)
    return last === undefined || last.size >= this.ctx.settings.segmentBytes
  }

  hasBuffered (): boolean {
    return this.pending !== null
  }

  /** Writes the write-behind buffer to its file (and waits for any write already under way). */
  async flush (): Promise<void> {
    const pending = this.pending
    if (pending !== null) {
      this.pending = null
      const data = pending.parts.length === 1 ? pending.parts[0] : Buffer.concat(pending.parts)
      this.flushing = this.flushing.then(async () => {
        await this.ctx.files.with(pending.path, pending.create, (file) => file.write(pending.position, data))
        this.ctx.noteBuffered(this, -pending.bytes)
      })
    }
    await this.flushing
  }

  /** Drops the write-behind buffer unwritten and waits for a write under way (the group is being deleted). */
  async discardBuffered (): Promise<void> {
    const pending = this.pending
    this.pending = null
    if (pending !== null) this.ctx.noteBuffered(this, -pending.bytes)
    await this.flushing
  }

  /** Removes every entry with index >= fromIndex. Returns the file cut short (its new length is not yet durable), if any. */
  async truncateFrom (fromIndex: number): Promise<string | null> {
    await this.flush()
    if (fromIndex > this.lastIndex()) return null
    let cut: string | null = null
    let removed = false
    while (this.segments.length > 0 && this.segments[this.segments.length - 1].firstIndex >= fromIndex) {
      const segment = this.segments.pop()!
      await this.removeFile(segment.path)
      removed = true
    }
    const segment = this.segments.at(-1)
    if (segment === undefined) {
      this.base = fromIndex - 1
    } else if (segment.lastIndex >= fromIndex) {
      const position = await this.positionOf(segment, fromIndex)
      await this.ctx.files.with(segment.path, false, (file) => file.truncate(position))
      this.ctx.cache.invalidateFrom(segment.path, position)
      segment.size = position
      segment.lastIndex = fromIndex - 1
      cut = segment.path
      while (segment.sparseIndexes.length > 0 && segment.sparseIndexes[segment.sparseIndexes.length - 1] >= fromIndex) {
        segment.sparseIndexes.pop()
        segment.sparsePositions.pop()
      }
    }
    if (removed) await this.syncDir()
    this.generation++
    return cut
  }

  /** Removes whole segments whose entries are all <= index (compaction, retention). */
  async deleteThrough (index: number): Promise<void> {
    await this.flush()
    let removed = false
    while (this.segments.length > 0 && this.segments[0].lastIndex <= index) {
      const segment = this.segments.shift()!
      await this.removeFile(segment.path)
      removed = true
    }
    if (this.segments.length === 0) this.base = Math.max(this.base, index)
    if (removed) await this.syncDir()
    this.generation++
  }

  /** Removes every segment; the next append starts at base + 1. */
  async reset (base: number): Promise<void> {
    await this.flush()
    for (const segment of this.segments) await this.removeFile(segment.path)
    const removed = this.segments.length > 0
    this.segments = []
    this.base = base
    if (removed) await this.syncDir()
    this.generation++
  }

  /**
   * Entries in [from, toExclusive) (which must lie within this log) whose data adds up to at most
   * maxBytes; the first entry is returned whatever its size when `atLeastOne`.
   */
  async read (from: number, toExclusive: number, maxBytes: number, atLeastOne: boolean): Promise<LogEntry[]> {
    await this.flush()
    assert(from >= this.firstIndex() && toExclusive <= this.lastIndex() + 1, `segment read [${from}, ${toExclusive}) outside [${this.firstIndex()}, ${this.lastIndex()}]`)
    const entries: LogEntry[] = []
    let bytes = 0
    let segmentNo = this.segmentOf(from)
    let index = from
    while (index < toExclusive) {
      const segment = this.segments[segmentNo]
      let position = this.sparseFloor(segment, index)
      while (index < toExclusive && index <= segment.lastIndex) {
        const { record, buffer } = await this.recordAt(segment, position)
        if (record.index === index) {
          if ((entries.length > 0 || !atLeastOne) && bytes + record.dataLength > maxBytes) return entries
          entries.push(recordEntry(buffer, record))
          bytes += record.dataLength
          index++
        } else if (record.index > index) {
          throw this.corruption(segment.path, position, `record holds index ${record.index}, expected ${index}`)
        }
        position += record.size
      }
      segmentNo++
    }
    return entries
  }

  private segmentOf (index: number): number {
    let low = 0
    let high = this.segments.length - 1
    while (low < high) {
      const mid = (low + high + 1) >> 1
      if (this.segments[mid].firstIndex <= index) low = mid
      else high = mid - 1
    }
    return low
  }

  private sparseFloor (segment: Segment, index: number): number {
    const indexes = segment.sparseIndexes
    let low = 0
    let high = indexes.length - 1
    if (high < 0 || indexes[0] > index) return SEGMENT_HEADER_BYTES
    while (low < high) {
      const mid = (low + high + 1) >> 1
      if (indexes[mid] <= index) low = mid
      else high = mid - 1
    }
    return segment.sparsePositions[low]
  }

  private async positionOf (segment: Segment, index: number): Promise<number> {
    await this.flush()
    let position = this.sparseFloor(segment, index)
    for (;;) {
      const { record } = await this.recordAt(segment, position)
      if (record.index === index) return position
      if (record.index > index) throw this.corruption(segment.path, position, `record holds index ${record.index}, expected ${index}`)
      position += record.size
    }
  }

  private async recordAt (segment: Segment, position: number): Promise<{ record: Exclude<ReturnType<typeof parseRecord>, string>, buffer: Uint8Array }> {
    const header = await this.readBytes(segment.path, position, RECORD_HEADER_BYTES)
    const length = header.length >= 8 ? readU32(header, 4) : 0
    const buffer = await this.readBytes(segment.path, position, RECORD_HEADER_BYTES + Math.min(length, this.ctx.settings.maxEntryBytes))
    const record = parseRecord(buffer, 0, this.ctx.settings.maxEntryBytes)
    if (typeof record === 'string') throw this.corruption(segment.path, position, record === 'bad' ? 'bad record checksum or length' : 'record cut short')
    return { record, buffer }
  }

  private readBytes (path: string, position: number, length: number): Promise<Uint8Array> {
    return this.ctx.cache.read(path, position, length, (start, blockLength) =>
      this.ctx.files.with(path, false, (file) => file.read(start, blockLength)))
  }

  private noteRecord (segment: Segment, index: number, offset: number, size: number): void {
    const lastSparse = segment.sparsePositions.at(-1)
    if (lastSparse === undefined || offset - lastSparse >= this.ctx.settings.sparseIndexBytes) {
      segment.sparseIndexes.push(index)
      segment.sparsePositions.push(offset)
    }
    segment.lastIndex = index
    segment.size = offset + size
  }

  private removeFile (path: string): Promise<void> {
    return removeCachedFile(this.ctx, path)
  }

  private async syncDir (): Promise<void> {
    await this.ctx.disk.syncDir(this.dir)
    this.ctx.countSync()
  }

  private corruption (file: string, offset: number, reason: string): GroupCorruptedError {
    return new GroupCorruptedError(this.dir, { file, offset, reason })
  }
}
