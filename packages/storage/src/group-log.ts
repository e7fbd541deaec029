// One group's RaftStorage handle: the logical log a Raft group sees. It is the physical segment
// log up to `cut`, followed by `tail`, the entries appended (or rewritten after a truncation)
// that the commit pipeline has not applied to segments yet. Terms live in memory (TermRuns).
// Every write becomes an operation for the node-wide journal; sync() waits for its round.
import type { EntryStamp } from './journal-format.ts'
import type {
  CorruptionReport, HardState, LogEntry, RaftStorage, RecoveredState, SnapshotMeta
} from '@blazar/env'
import { LogCompactedError } from '@blazar/env'
import { assert, GroupCorruptedError, GroupDeletedError, StorageLimitError } from './errors.ts'
import type { GroupOp } from './ops.ts'
import { cutPoint } from './ops.ts'
import type { SegmentLog } from './segment-log.ts'
import { RECORD_HEADER_BYTES } from './segment-format.ts'
import type { TermRuns } from './term-runs.ts'

/** What a group handle needs from the store that owns it. */
export interface GroupHost {
  readonly maxEntryBytes: number
  /** Throws if the store cannot take writes (fatal disk error, closed). */
  checkWritable (): void
  /** Holds `bytes` of the node-wide write queue for this group's next write, or throws StorageBackpressureError. */
  reserve (group: GroupLog, bytes: number): void
  enqueue (group: GroupLog, op: GroupOp): void
  syncGroup (group: GroupLog): Promise<void>
  writeSnapshot (group: GroupLog, meta: SnapshotMeta, data: Uint8Array): Promise<void>
  readSnapshot (group: GroupLog, meta: SnapshotMeta): Promise<Uint8Array>
  nextSeq (): number
}

/** A physical read retries this many times when a concurrent truncation or compaction changed the files under it. */
const READ_RETRIES = 3

export class GroupLog implements RaftStorage {
  readonly group: string
  readonly dir: string
  readonly recovered: RecoveredState
  readonly physical: SegmentLog
  private readonly host: GroupHost
  private readonly terms: TermRuns
  private first: number
  private last: number
  /** The logical log uses physical entries <= cut. */
  private cut: number
  private tail: LogEntry[] = []
  private snapshot: SnapshotMeta | null
  private hardState: HardState
  private corruption: CorruptionReport | null
  private deleted = false
  /** Operations not yet applied to segments, oldest first (the first `taken` are in a journal round). */
  readonly queued: GroupOp[] = []
  lastOpSeq = 0
  /** Journal file and number under which this group is declared in the current journal file. */
  journalRef = { fileSeq: -1, ref: 0 }
  /** A log operation of this group is in the journal since the last checkpoint (its direct writes must then be journaled too). */
  journaledLogOps = false
  /** Bytes appended straight to segments by rounds with no journal record since this group was last journaled. */
  unjournaledBytes = 0
  /**
   * Stamps of those entries: the group's next journal record starts with them (as an appendRef),
   * so the journal names every entry appended since the checkpoint before a later operation
   * that needs them (recovery replays the journal over the segments, and a gap is corruption).
   */
  unjournaledStamps: EntryStamp[] = []
  /** Segment files written since the last checkpoint (synced by it, or by a direct write). */
  readonly dirtyFiles = new Set<string>()
  /** Bytes of the write queue reserved for entries not yet appended (the next write takes them over). */
  reservedBytes = 0

  constructor (options: {
    host: GroupHost, group: string, dir: string, physical: SegmentLog, terms: TermRuns,
    hardState: HardState, snapshot: SnapshotMeta | null, corruption: CorruptionReport | null
  }) {
    this.host = options.host
    this.group = options.group
    this.dir = options.dir
    this.physical = options.physical
    this.terms = options.terms
    this.hardState = options.hardState
    this.snapshot = options.snapshot
    this.corruption = options.corruption
    this.first = this.snapshot === null ? this.physical.firstIndex() : this.snapshot.index + 1
    this.last = Math.max(this.first - 1, this.physical.lastIndex())
    this.cut = this.last
    this.terms.discardThrough(this.first - 1)
    this.recovered = {
      hardState: { ...this.hardState },
      snapshot: this.snapshot,
      firstIndex: this.first,
      lastIndex: this.last,
      corruption: this.corruption
    }
  }

  isCorrupted (): boolean {
    return this.corruption !== null
  }

  firstIndex (): number {
    return this.first
  }

  lastIndex (): number {
    return this.last
  }

  termAt (index: number): number | undefined {
    if (this.snapshot !== null && index === this.snapshot.index) return this.snapshot.term
    if (index === 0 && this.snapshot === null) return 0
    if (index < this.first || index > this.last) return undefined
    return this.terms.termAt(index)
  }

  reserve (entries: readonly LogEntry[]): void {
    this.checkServing()
    if (entries.length === 0) return
    this.host.reserve(this, this.appendBytes(entries))
  }

  append (entries: readonly LogEntry[]): void {
    this.checkServing()
    if (entries.length === 0) return
    let previousTerm = this.termAt(this.last) ?? 0
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]
      assert(entry.index === this.last + 1 + i, `append at ${entry.index} does not follow ${this.last + i}`)
      assert(entry.term >= previousTerm, `entry ${entry.index} has term ${entry.term} below the previous ${previousTerm}`)
      previousTerm = entry.term
    }
    const bytes = this.appendBytes(entries)
    const copy = entries.slice()
    this.host.enqueue(this, { type: 'append', seq: this.host.nextSeq(), lastAfter: this.last + entries.length, bytes, entries: copy })
    for (const entry of copy) {
      this.tail.push(entry)
      this.terms.append(entry.index, entry.term)
    }
    this.last += entries.length
  }

  /** Bytes an append of `entries` adds to the write queue; throws StorageLimitError for an entry over maxEntryBytes. */
  private appendBytes (entries: readonly LogEntry[]): number {
    let bytes = 32
    for (const entry of entries) {
      if (entry.data.length > this.host.maxEntryBytes) throw new StorageLimitError('maxEntryBytes', entry.data.length, this.host.maxEntryBytes, `entry ${entry.index}`)
      bytes += RECORD_HEADER_BYTES + entry.data.length
    }
    return bytes
  }

  truncateSuffix (fromIndex: number): void {
    this.checkServing()
    if (fromIndex > this.last) return
    assert(fromIndex >= this.first, `cannot truncate from ${fromIndex}: the log starts at ${this.first}`)
    this.host.enqueue(this, { type: 'truncate', seq: this.host.nextSeq(), lastAfter: fromIndex - 1, bytes: 16, fromIndex })
    if (fromIndex - 1 < this.cut) {
      this.cut = fromIndex - 1
      this.tail = []
    } else {
      this.tail.length = fromIndex - 1 - this.cut
    }
    this.terms.truncateFrom(fromIndex)
    this.last = fromIndex - 1
  }

  setHardState (state: HardState): void {
    this.checkOpen()
    this.hardState = { ...state }
    this.host.enqueue(this, { type: 'hardState', seq: this.host.nextSeq(), lastAfter: this.last, bytes: 32 + (state.vote?.length ?? 0) * 3, state: { ...state } })
  }

  sync (): Promise<void> {
    return this.host.syncGroup(this)
  }

  async read (from: number, toExclusive: number, maxBytes: number): Promise<LogEntry[]> {
    this.checkServing()
    const entries: LogEntry[] = []
    let bytes = 0
    let next = from
    for (let attempt = 0; ;) {
      if (next < this.first) throw new LogCompactedError(next, this.first)
      const end = Math.min(toExclusive, this.last + 1)
      if (next >= end || (entries.length > 0 && bytes >= maxBytes)) return entries
      if (next <= this.cut) {
        const generation = this.physical.generation
        const physicalEnd = Math.min(end, this.cut + 1)
        let batch: LogEntry[]
        try {
          batch = await this.physical.read(next, physicalEnd, maxBytes - bytes, entries.length === 0)
        } catch (error) {
          if (generation !== this.physical.generation && attempt++ < READ_RETRIES) continue
          throw error
        }
        if (generation !== this.physical.generation && attempt++ < READ_RETRIES) continue
        if (batch.length === 0) return entries
        for (const entry of batch) {
          entries.push(entry)
          bytes += entry.data.length
        }
        next += batch.length
        if (next < physicalEnd) return entries
        continue
      }
      while (next < end) {
        const entry = this.tail[next - (this.cut + 1)]
        assert(entry !== undefined && entry.index === next, `group ${this.group}: tail has no entry ${next}`)
        if (entries.length > 0 && bytes + entry.data.length > maxBytes) return entries
        entries.push(entry)
        bytes += entry.data.length
        next++
      }
      return entries
    }
  }

  async saveSnapshot (meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    this.checkOpen()
    assert(meta.index >= (this.snapshot?.index ?? 0), `snapshot at ${meta.index} is older than the current one at ${this.snapshot?.index}`)
    await this.host.writeSnapshot(this, meta, data)
    this.checkOpen()
    const reset = this.corruption !== null || meta.index > this.last || this.termAt(meta.index) !== meta.term
    this.host.enqueue(this, { type: 'snapshot', seq: this.host.nextSeq(), lastAfter: reset ? meta.index : this.last, bytes: 64, meta, reset })
    if (reset) {
      this.last = meta.index
      this.cut = meta.index
      this.tail = []
      this.terms.clear()
    } else {
      this.terms.discardThrough(meta.index)
      if (this.cut < meta.index) {
        this.tail = this.tail.slice(meta.index - this.cut)
        this.cut = meta.index
      }
    }
    this.first = meta.index + 1
    this.snapshot = meta
    this.corruption = null
    await this.sync()
  }

  async loadSnapshot (): Promise<{ meta: SnapshotMeta, data: Uint8Array } | null> {
    this.checkOpen()
    if (this.snapshot === null) return null
    const meta = this.snapshot
    return { meta, data: await this.host.readSnapshot(this, meta) }
  }

  compact (uptoIndex: number): void {
    assert(uptoIndex <= (this.snapshot?.index ?? 0), `compact(${uptoIndex}) beyond the snapshot at ${this.snapshot?.index ?? 0}`)
  }

  /** The store is deleting this group: every later call refuses with GroupDeletedError. */
  markDeleted (): void {
    this.deleted = true
  }

  /** Marks the group corrupted (a checksum failed on a read). */
  markCorrupted (report: CorruptionReport): void {
    this.corruption ??= report
  }

  /**
   * Called after the pipeline applied this group's first `count` queued operations to segments:
   * the physical log now equals the logical log right after the last of them.
   */
  afterApply (count: number): void {
    const applied = this.queued.splice(0, count)
    let usable = applied[applied.length - 1].lastAfter
    for (const op of this.queued) usable = Math.min(usable, cutPoint(op))
    if (usable > this.cut) {
      this.tail.splice(0, usable - this.cut)
      this.cut = usable
    }
    assert(this.cut + this.tail.length === this.last, `group ${this.group}: cut ${this.cut} + tail ${this.tail.length} != last ${this.last}`)
  }

  private checkOpen (): void {
    this.host.checkWritable()
    if (this.deleted) throw new GroupDeletedError(this.group)
  }

  private checkServing (): void {
    this.checkOpen()
    if (this.corruption !== null) throw new GroupCorruptedError(this.group, this.corruption)
  }
}
