// The node-wide log store: opens many groups over one journal. Writes of every group are buffered
// as operations; a commit round takes all of them, writes them to the journal in one write and
// makes them durable with one fsync, resolves every sync() they cover, then applies them to the
// groups' segment files (no fsync there: checkpoints sync segments and let the journal be trimmed).
// A group whose appends in one round are large writes them straight to its segment and syncs that
// file in the same round instead of copying them into the journal. A failed write or fsync is
// fatal: nothing is retried, every waiting and later sync() rejects with StorageFatalError.
//
// Deleting a group (deleteGroup) is an operation of the pipeline like the others: a deleteGroup
// journal record, durable in a round, is the commit point. Before it the group is intact (its
// files are untouched); once it is durable the group's metadata is dropped and its directory
// removed (every file, the directory, then an fsync of groups/). Recovery treats a deleteGroup
// record as voiding everything the checkpoint and earlier journal records said of the group and
// removes what is left of its directory, so a crash anywhere in the removal leaves the group
// either intact or gone, never half there. A checkpoint waits for removals in flight: it trims
// the journal, and with it the record, while a half-removed directory would still be on disk.
// A group created again under the same name (only once the removal is done) leaves a journal
// record before anything durable of it: its first segment file is created by a journaled round
// (a journal-free round never starts a segment, §6 of docs/storage.md), and a snapshot is a
// journaled operation. So recovery never takes the new group's data for the old one's leftovers.
import type { CorruptionReport, RaftStorage, SnapshotMeta } from '@blazar/env'
import { StorageFatalError } from '@blazar/env'
import { ByteWriter, fromUtf8, utf8 } from './codec.ts'
import type { Checkpoint, GroupMeta } from './checkpoint.ts'
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts'
import type { Disk, DiskFile } from './disk.ts'
import { joinPath } from './disk.ts'
import { assert, GroupCorruptedError, StorageBackpressureError, StoreClosedError } from './errors.ts'
import { FileCache } from './file-cache.ts'
import type { GroupHost } from './group-log.ts'
import { GroupLog } from './group-log.ts'
import type { EntryStamp } from './journal-format.ts'
import { encodeJournalHeader, JOURNAL_HEADER_BYTES, journalFileName, RoundWriter } from './journal-format.ts'
import type { GroupOp } from './ops.ts'
import { groupDirName } from './ops.ts'
import { ReadCache } from './read-cache.ts'
import { applyLastRound, dropLastRound, lastRoundComplete, readJournal, reconcileGroup } from './recovery.ts'
import type { RecordSpan, SegmentContext } from './segment-log.ts'
import { removeCachedFile, SegmentLog } from './segment-log.ts'
import { writeRecord } from './segment-format.ts'
import type { StoreSettings } from './settings.ts'
import { resolveSettings } from './settings.ts'
import { parseSnapshotFileName, readSnapshotFile, snapshotFileName, writeSnapshotFile } from './snapshot-file.ts'

export interface StoreStats {
  /** Every fsync/fdatasync issued (journal, segments, directories, snapshots, checkpoints). */
  fsyncs: number
  journalFsyncs: number
  rounds: number
  journalBytes: number
  directWrites: number
  checkpoints: number
  /** Groups deleted (their directories removed) by this incarnation, including leftovers recovery removed. */
  deletedGroups: number
  openGroups: number
  openFiles: number
  readCacheBytes: number
}

export interface LogStoreOptions {
  settings?: Partial<StoreSettings>
}

const CORRUPT_MARKER = 'CORRUPT'

interface Waiter {
  seq: number
  resolve: () => void
  reject: (error: Error) => void
}

interface Journal {
  file: DiskFile
  seq: number
  size: number
  nextRef: number
}

/** One group's share of a round. */
interface RoundPart {
  group: GroupLog
  ops: GroupOp[]
  /** Inline append batches: byte range of their records in the round, and their spans. */
  inline: Map<GroupOp, { start: number, end: number, spans: RecordSpan[] }>
  direct: { records: Uint8Array, spans: RecordSpan[] } | null
}

export class LogStore {
  readonly settings: StoreSettings
  private readonly disk: Disk
  private readonly files: FileCache
  private readonly cache: ReadCache
  private readonly ctx: SegmentContext
  private journal!: Journal
  private nextRoundSeq = 1
  private readonly metas: Map<string, GroupMeta>
  private readonly groups = new Map<string, GroupLog>()
  private readonly opening = new Map<string, Promise<GroupLog>>()
  private readonly recoveredCorruption = new Map<string, CorruptionReport>()
  private groupDirs = new Set<string>()
  private pending: Array<{ group: GroupLog, op: GroupOp }> = []
  private pendingBytes = 0
  /** Bytes reserved by groups for entries they have not appended yet (sum of GroupLog.reservedBytes). */
  private reservedBytes = 0
  private opSeq = 0
  private durableSeq = 0
  private waiters: Waiter[] = []
  private running: Promise<void> | null = null
  private fatal: StorageFatalError | null = null
  private closed = false
  private readonly dirtyGroups = new Set<GroupLog>()
  /** Segment logs holding write-behind bytes, and how many bytes in all. */
  private readonly buffered = new Set<SegmentLog>()
  private bufferedBytes = 0
  private readonly dirtyDirs = new Set<string>()
  private readonly counters = { fsyncs: 0, journalFsyncs: 0, rounds: 0, journalBytes: 0, directWrites: 0, checkpoints: 0, deletedGroups: 0 }
  /** deleteGroup calls under way, by group: openGroup of that name waits for them. */
  private readonly deleting = new Map<string, Promise<void>>()
  /** Directory removals of groups whose delete record is durable; a checkpoint waits for them. */
  private readonly removals = new Map<GroupLog, Promise<void>>()
  /** Snapshot files being written, by group: a delete waits for them before removing the directory. */
  private readonly snapshotWrites = new Map<GroupLog, Promise<void>>()
  private readonly host: GroupHost

  private constructor (disk: Disk, settings: StoreSettings, metas: Map<string, GroupMeta>) {
    this.disk = disk
    this.settings = settings
    this.metas = metas
    this.files = new FileCache(disk, settings.maxOpenFiles)
    this.cache = new ReadCache(settings.readCacheBytes, settings.readBlockBytes)
    this.ctx = {
      disk,
      files: this.files,
      cache: this.cache,
      settings,
      countSync: () => { this.counters.fsyncs++ },
      noteBuffered: (log, delta) => {
        this.bufferedBytes += delta
        if (log.hasBuffered()) this.buffered.add(log)
        else this.buffered.delete(log)
      }
    }
    this.host = {
      maxEntryBytes: settings.maxEntryBytes,
      checkWritable: () => this.checkWritable(),
      reserve: (group, bytes) => this.reserve(group, bytes),
      enqueue: (group, op) => this.enqueue(group, op),
      syncGroup: (group) => this.syncGroup(group),
      writeSnapshot: (group, meta, data) => this.writeSnapshot(group, meta, data),
      readSnapshot: (group, meta) => this.readSnapshot(group, meta),
      nextSeq: () => ++this.opSeq
    }
  }

  /** Opens (or creates) a store on `disk`: reads the checkpoint, replays the journal, repairs segments. */
  static async open (disk: Disk, options: LogStoreOptions = {}): Promise<LogStore> {
    const settings = resolveSettings(options.settings)
    await disk.mkdir('journal')
    await disk.mkdir('groups')
    const checkpoint: Checkpoint = await readCheckpoint(disk) ?? { journalStart: 1, nextRoundSeq: 1, groups: new Map() }
    const store = new LogStore(disk, settings, checkpoint.groups)
    const checkpointed = new Map([...checkpoint.groups].map(([group, meta]) => [group, { snapshotIndex: meta.snapshot?.index ?? 0, lastIndex: meta.lastIndex }]))
    const replay = await readJournal(disk, settings, checkpoint)
    if (replay.corruption === null && !(await lastRoundComplete(store.ctx, replay, (group) => store.groupDir(group)))) await dropLastRound(disk, replay)
    else applyLastRound(replay)
    store.nextRoundSeq = replay.nextRoundSeq
    store.groupDirs = new Set(await disk.list('groups'))
    if (replay.corruption === null) {
      // Deletes whose removal a crash interrupted: the journal says the group is gone, so is the rest of it.
      for (const group of replay.deleted) {
        if (!store.groupDirs.has(groupDirName(group))) continue
        await store.removeGroupDir(group)
        store.counters.deletedGroups++
      }
      const unsynced: string[] = []
      const dirs: string[] = []
      for (const [group, ops] of replay.groupOps) {
        const dir = store.groupDir(group)
        await store.ensureGroupDir(group)
        const fresh = { snapshotIndex: 0, lastIndex: 0 }
        const reconciled = await reconcileGroup(store.ctx, dir, ops, replay.deletedInJournal.has(group) ? fresh : checkpointed.get(group) ?? fresh)
        if ('corruption' in reconciled) store.recoveredCorruption.set(group, reconciled.corruption)
        else {
          unsynced.push(...reconciled.unsynced)
          dirs.push(dir)
        }
      }
      await store.inParallel(unsynced, (path) => store.syncFile(path))
      await store.inParallel(dirs, (dir) => store.syncDir(dir))
    } else {
      // The journal cannot be replayed past a bad round: no group's log can be trusted.
      for (const group of new Set([...replay.metas.keys(), ...replay.groupOps.keys()])) {
        await store.ensureGroupDir(group)
        store.recoveredCorruption.set(group, replay.corruption)
      }
      for (const name of store.groupDirs) await store.writeCorruptMarker(joinPath('groups', name), replay.corruption)
    }
    for (const [group, report] of store.recoveredCorruption) await store.writeCorruptMarker(store.groupDir(group), report)
    // Group directories created by an incarnation that crashed before syncing them hold recovered data now.
    await store.syncDir('groups')
    store.dirtyDirs.delete('groups')
    await store.startJournal(replay.lastFileSeq + 1)
    await store.writeCheckpointFile(replay.files)
    return store
  }

  /** The RaftStorage of one group, created empty if the store has never seen it. */
  async openGroup (group: string): Promise<RaftStorage> {
    this.checkWritable()
    const deleting = this.deleting.get(group)
    if (deleting !== undefined) {
      await deleting
      return this.openGroup(group)
    }
    const open = this.groups.get(group)
    if (open !== undefined) return open
    let opening = this.opening.get(group)
    if (opening === undefined) {
      opening = this.loadGroup(group).finally(() => this.opening.delete(group))
      this.opening.set(group, opening)
    }
    return opening
  }

  /**
   * Deletes a group: its handle refuses every later call (GroupDeletedError), a deleteGroup
   * record is made durable in the journal (the commit point), then its files and directory are
   * removed and the groups directory synced. Resolves once the directory is gone; operations of
   * the group not yet synced are dropped. openGroup of the same name afterwards starts an empty
   * log. Deleting a group the store does not hold does nothing.
   */
  deleteGroup (group: string): Promise<void> {
    this.checkWritable()
    let deleting = this.deleting.get(group)
    if (deleting === undefined) {
      deleting = this.runDelete(group).finally(() => this.deleting.delete(group))
      this.deleting.set(group, deleting)
    }
    return deleting
  }

  /** Every group the store holds a log, metadata or a directory for, open or not, in name order. */
  groupIds (): string[] {
    const ids = new Set([...this.metas.keys(), ...this.groups.keys()])
    for (const name of this.groupDirs) ids.add(decodeURIComponent(name))
    return [...ids].sort()
  }

  private async runDelete (group: string): Promise<void> {
    await this.opening.get(group)?.catch(() => {})
    if (!this.groups.has(group) && !this.metas.has(group) && !this.groupDirs.has(groupDirName(group))) return
    const log = this.groups.get(group) ?? await this.loadGroup(group)
    log.markDeleted()
    await this.snapshotWrites.get(log)?.catch(() => {})
    this.enqueue(log, { type: 'deleteGroup', seq: ++this.opSeq, lastAfter: 0, bytes: 16 })
    await this.syncGroup(log)
    const removal = this.removals.get(log)
    assert(removal !== undefined, `group ${group}: a durable delete started no removal`)
    try {
      await removal
    } finally {
      this.removals.delete(log)
    }
  }

  /** Starts removing the files of a group whose delete record just became durable (see the header). */
  private startRemoval (log: GroupLog): void {
    this.metas.delete(log.group)
    const removal = (async () => {
      await log.physical.discardBuffered()
      this.dirtyGroups.delete(log)
      this.dirtyDirs.delete(log.dir)
      await this.removeGroupDir(log.group)
      this.groups.delete(log.group)
      this.recoveredCorruption.delete(log.group)
      this.counters.deletedGroups++
    })().catch((error: unknown) => {
      this.fail(error)
      throw this.fatal
    })
    // runDelete awaits it; a failure has made the store fatal already.
    removal.catch(() => {})
    this.removals.set(log, removal)
  }

  /** Removes a group's directory and everything in it, durably (the groups directory is synced). */
  private async removeGroupDir (group: string): Promise<void> {
    const dir = this.groupDir(group)
    for (const name of await this.disk.list(dir)) await removeCachedFile(this.ctx, joinPath(dir, name))
    await this.disk.removeDir(dir)
    this.groupDirs.delete(groupDirName(group))
    this.dirtyDirs.delete('groups')
    await this.syncDir('groups')
  }

  /** Resolves once no commit round is running (every durable operation has been applied to segments). */
  async idle (): Promise<void> {
    while (this.running !== null) await this.running
  }

  stats (): StoreStats {
    return {
      ...this.counters,
      openGroups: this.groups.size,
      openFiles: this.files.size(),
      readCacheBytes: this.cache.cachedBytes()
    }
  }

  /**
   * Waits for the round in flight, checkpoints (so the next open replays nothing), then closes
   * every file. Operations not covered by a sync() are dropped.
   */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.running !== null) await this.running
    await Promise.allSettled(this.removals.values())
    if (this.fatal === null && this.journal.size > JOURNAL_HEADER_BYTES) {
      try {
        await this.checkpoint()
      } catch (error) {
        this.fail(error)
      }
    }
    for (const waiter of this.waiters) waiter.reject(new StoreClosedError())
    this.waiters = []
    await this.files.closeAll()
    await this.journal.file.close()
  }

  private groupDir (group: string): string {
    assert(group.length > 0, 'a group id must not be empty')
    return joinPath('groups', groupDirName(group))
  }

  private async ensureGroupDir (group: string): Promise<void> {
    const name = groupDirName(group)
    if (this.groupDirs.has(name)) return
    await this.disk.mkdir(joinPath('groups', name))
    // Made durable with the first thing that must outlive a crash in it (checkpoint, direct write, snapshot).
    this.dirtyDirs.add('groups')
    this.groupDirs.add(name)
  }

  /** Syncs the directory of group directories if a group was created since it was last synced. */
  private async syncGroupsDir (): Promise<void> {
    if (!this.dirtyDirs.delete('groups')) return
    await this.syncDir('groups')
  }

  private async loadGroup (group: string): Promise<GroupLog> {
    const dir = this.groupDir(group)
    await this.ensureGroupDir(group)
    const meta = this.metas.get(group) ?? { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, lastIndex: 0 }
    const names = await this.disk.list(dir)
    const scan = await SegmentLog.scan(this.ctx, dir, Number.POSITIVE_INFINITY)
    let corruption = names.includes(CORRUPT_MARKER) ? await this.readCorruptMarker(dir) : this.recoveredCorruption.get(group) ?? null
    const snapshot = meta.snapshot
    const first = snapshot === null ? 1 : snapshot.index + 1
    if (corruption === null && scan.broken !== null) {
      // Bytes past the journaled end of the log were never acknowledged (a torn direct write): cut them off.
      if (scan.broken.index <= meta.lastIndex && meta.lastIndex >= first) corruption = { file: scan.broken.file, offset: scan.broken.offset, reason: scan.broken.reason }
      else await scan.log.dropUnscanned()
    }
    if (corruption === null && snapshot !== null && !names.includes(snapshotFileName(snapshot))) {
      corruption = { file: joinPath(dir, snapshotFileName(snapshot)), offset: 0, reason: 'snapshot file missing' }
    }
    const physical = scan.log
    if (corruption === null && physical.lastIndex() >= physical.firstIndex() && physical.firstIndex() > first) {
      corruption = { file: dir, offset: 0, reason: `log starts at ${physical.firstIndex()}, entries from ${first} are missing` }
    }
    if (corruption === null && physical.lastIndex() > Math.max(meta.lastIndex, first - 1)) {
      // Records written straight to the segment by rounds that needed no journal: valid records
      // are kept, and synced now (they may have been in the page cache only when the node died).
      await this.inParallel(physical.pathsFrom(Math.max(meta.lastIndex, first - 1) + 1), (path) => this.syncFile(path))
      await this.syncDir(dir)
      this.metaOf(group).lastIndex = physical.lastIndex()
    }
    if (corruption === null && physical.lastIndex() < meta.lastIndex && meta.lastIndex >= first) {
      corruption = { file: dir, offset: 0, reason: `entries ${physical.lastIndex() + 1}..${meta.lastIndex} are missing from the segments` }
    }
    if (corruption === null && physical.lastIndex() < first - 1) await physical.reset(first - 1)
    if (corruption !== null && !names.includes(CORRUPT_MARKER)) await this.writeCorruptMarker(dir, corruption)
    if (corruption === null) await this.removeOldSnapshots(dir, snapshot, true)
    const log = new GroupLog({ host: this.host, group, dir, physical, terms: scan.terms, hardState: { ...meta.hardState }, snapshot, corruption })
    this.groups.set(group, log)
    return log
  }

  private checkWritable (): void {
    if (this.fatal !== null) throw this.fatal
    if (this.closed) throw new StoreClosedError()
  }

  /**
   * Backpressure: entries get room in the write queue before they enter a Raft log, so the
   * writes themselves never have to refuse (a refused write would leave Raft's log and the
   * store disagreeing). What is pending plus what is reserved stays within maxPendingBytes;
   * only hard-state and truncation records and Raft's election no-op (tens of bytes, at most
   * one each per group per batch) are written without a reservation.
   */
  private reserve (group: GroupLog, bytes: number): void {
    this.checkWritable()
    const queued = this.pendingBytes + this.reservedBytes + bytes
    if (queued > this.settings.maxPendingBytes) throw new StorageBackpressureError(queued, this.settings.maxPendingBytes)
    this.reservedBytes += bytes
    group.reservedBytes += bytes
  }

  private enqueue (group: GroupLog, op: GroupOp): void {
    this.checkWritable()
    // The group's next write carries everything it reserved (Raft writes its pending entries in one batch).
    this.reservedBytes -= group.reservedBytes
    group.reservedBytes = 0
    assert(this.reservedBytes >= 0, `reserved bytes went negative: ${this.reservedBytes}`)
    this.pending.push({ group, op })
    this.pendingBytes += op.bytes
    group.queued.push(op)
    group.lastOpSeq = op.seq
  }

  private syncGroup (group: GroupLog): Promise<void> {
    if (this.fatal !== null) return Promise.reject(this.fatal)
    if (this.closed) return Promise.reject(new StoreClosedError())
    if (group.lastOpSeq <= this.durableSeq) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq: group.lastOpSeq, resolve, reject })
      this.kick()
    })
  }

  private kick (): void {
    if (this.running !== null) return
    this.running = this.runRounds().finally(() => {
      this.running = null
      if (this.fatal === null && !this.closed && this.waiters.length > 0 && this.pending.length > 0) this.kick()
    })
  }

  private async runRounds (): Promise<void> {
    // Let every sync() issued in the same turn join this round.
    await Promise.resolve()
    try {
      while (this.fatal === null && this.pending.length > 0 && (this.waiters.length > 0 || this.pendingBytes >= this.settings.maxRoundBytes)) {
        await this.round()
      }
    } catch (error) {
      this.fail(error)
    }
  }

  private fail (error: unknown): void {
    this.fatal ??= error instanceof StorageFatalError ? error : new StorageFatalError(`log store stopped: ${(error as Error).message}`, { cause: error })
    for (const waiter of this.waiters) waiter.reject(this.fatal)
    this.waiters = []
  }

  private async round (): Promise<void> {
    if (this.journal.size >= this.settings.checkpointJournalBytes) await this.checkpoint()
    let count = 0
    let bytes = 0
    while (count < this.pending.length && (count === 0 || bytes + this.pending[count].op.bytes <= this.settings.maxRoundBytes)) {
      bytes += this.pending[count].op.bytes
      count++
    }
    const taken = this.pending.splice(0, count)
    this.pendingBytes -= bytes
    const parts = new Map<GroupLog, RoundPart>()
    for (const { group, op } of taken) {
      let part = parts.get(group)
      if (part === undefined) parts.set(group, part = { group, ops: [], inline: new Map(), direct: null })
      part.ops.push(op)
    }
    // A round of nothing but direct appends, by groups with no log operation in the journal since
    // the last checkpoint, needs no journal at all: the synced segment records speak for themselves.
    const journalFree = [...parts.values()].every((part) => !part.group.journaledLogOps && this.isDirect(part) &&
      !part.group.physical.startsNewSegment() && part.group.unjournaledBytes + this.partBytes(part) <= this.settings.unjournaledDirectBytes)
    let roundBytes: Uint8Array = new Uint8Array(0)
    if (journalFree) {
      for (const part of parts.values()) {
        part.group.unjournaledStamps.push(...this.encodeDirect(part))
        part.group.unjournaledBytes += this.partBytes(part)
      }
    } else {
      const writer = new RoundWriter(this.nextRoundSeq++)
      for (const part of parts.values()) this.encodePart(writer, part)
      roundBytes = writer.finish()
    }
    const directParts = [...parts.values()].filter((part) => part.direct !== null)
    // The journal's write + fsync and each direct group's write + fsync run side by side.
    const journalPosition = this.journal.size
    this.journal.size += roundBytes.length
    await Promise.all([
      (async () => {
        if (journalFree) return
        await this.journal.file.write(journalPosition, roundBytes)
        await this.journalSync()
      })(),
      ...directParts.map(async (part) => {
        const group = part.group
        const { path, created } = await group.physical.append(part.direct!.records, part.direct!.spans, true)
        group.dirtyFiles.add(path)
        const paths = [...group.dirtyFiles]
        group.dirtyFiles.clear()
        await this.syncGroupsDir()
        for (const dirty of paths) await this.syncFile(dirty)
        // A segment created since the last checkpoint (by this write or an earlier one) needs its directory entry durable too.
        if (created || this.dirtyDirs.has(group.dir)) {
          this.dirtyDirs.delete(group.dir)
          await this.syncDir(group.dir)
        }
      })
    ])
    this.counters.rounds++
    this.counters.journalBytes += roundBytes.length
    this.counters.directWrites += directParts.length
    this.durableSeq = taken[taken.length - 1].op.seq
    for (const { group, op } of taken) {
      if (op.type === 'deleteGroup') {
        this.startRemoval(group)
        continue
      }
      const meta = this.metaOf(group.group)
      meta.lastIndex = op.lastAfter
      if (op.type === 'hardState') meta.hardState = op.state
      else if (op.type === 'snapshot') meta.snapshot = op.meta
    }
    const waiting = this.waiters
    this.waiters = []
    for (const waiter of waiting) {
      if (waiter.seq <= this.durableSeq) waiter.resolve()
      else this.waiters.push(waiter)
    }
    await Promise.all([...parts.values()].map((part) => this.applyPart(part, roundBytes)))
    if (this.bufferedBytes > this.settings.writeBehindBytes) await this.flushBuffers()
  }

  private async flushBuffers (): Promise<void> {
    await Promise.all([...this.buffered].map((log) => log.flush()))
  }

  private partBytes (part: RoundPart): number {
    return part.ops.reduce((sum, op) => sum + (op.type === 'append' ? op.bytes : 0), 0)
  }

  /** Whether a group's share of a round goes straight to its segment: appends only, and enough bytes. */
  private isDirect (part: RoundPart): boolean {
    return this.partBytes(part) >= this.settings.directWriteBytes && part.ops.every((op) => op.type === 'append')
  }

  /** Encodes a direct part's records for its segment; returns their stamps for the journal. */
  private encodeDirect (part: RoundPart): EntryStamp[] {
    const records = new ByteWriter(part.ops.reduce((sum, op) => sum + op.bytes, 0))
    const spans: RecordSpan[] = []
    const stamps: EntryStamp[] = []
    for (const op of part.ops) {
      if (op.type !== 'append') continue
      for (const entry of op.entries) {
        const start = records.length
        const crc = writeRecord(records, entry)
        spans.push({ index: entry.index, size: records.length - start })
        stamps.push({ index: entry.index, term: entry.term, crc })
      }
    }
    part.direct = { records: records.finish(), spans }
    return stamps
  }

  private encodePart (writer: RoundWriter, part: RoundPart): void {
    const group = part.group
    if (group.journalRef.fileSeq !== this.journal.seq) {
      group.journalRef = { fileSeq: this.journal.seq, ref: this.journal.nextRef++ }
      writer.group(group.journalRef.ref, group.group)
    }
    const ref = group.journalRef.ref
    group.unjournaledBytes = 0
    if (part.ops.some((op) => op.type === 'deleteGroup')) {
      // The delete voids the rest: the group's other operations in this round and its unjournaled stamps.
      group.unjournaledStamps = []
      writer.deleteGroup(ref)
      return
    }
    if (group.unjournaledStamps.length > 0) {
      writer.appendRef(ref, group.unjournaledStamps)
      group.unjournaledStamps = []
    }
    if (this.isDirect(part)) {
      writer.appendRef(ref, this.encodeDirect(part))
      return
    }
    if (part.ops.some((op) => op.type !== 'hardState')) group.journaledLogOps = true
    for (let i = 0; i < part.ops.length; i++) {
      const op = part.ops[i]
      switch (op.type) {
        case 'append': {
          // Consecutive appends of a group become one journal record and one segment write.
          const batch: GroupOp[] = [op]
          while (i + 1 < part.ops.length && part.ops[i + 1].type === 'append') batch.push(part.ops[++i])
          const entries = batch.flatMap((each) => each.type === 'append' ? each.entries : [])
          const byteLength = entries.reduce((sum, entry) => sum + 28 + entry.data.length, 0)
          writer.appendHeader(ref, entries.length, byteLength)
          const start = writer.writer.length
          const spans: RecordSpan[] = []
          for (const entry of entries) {
            const recordStart = writer.writer.length
            writeRecord(writer.writer, entry)
            spans.push({ index: entry.index, size: writer.writer.length - recordStart })
          }
          part.inline.set(op, { start, end: writer.writer.length, spans })
          break
        }
        case 'truncate':
          writer.truncate(ref, op.fromIndex)
          break
        case 'hardState':
          writer.hardState(ref, op.state)
          break
        case 'snapshot':
          writer.snapshot(ref, op.meta, op.reset)
          break
      }
    }
  }

  /** Applies a durable round's operations of one group to its segment files. */
  private async applyPart (part: RoundPart, roundBytes: Uint8Array): Promise<void> {
    const group = part.group
    const physical = group.physical
    if (part.ops.some((op) => op.type === 'deleteGroup')) return
    for (const op of part.ops) {
      if (op.type === 'append') {
        const batch = part.inline.get(op)
        if (batch === undefined) continue
        const { path, created } = await physical.append(roundBytes.subarray(batch.start, batch.end), batch.spans, false)
        group.dirtyFiles.add(path)
        this.dirtyGroups.add(group)
        if (created) this.dirtyDirs.add(group.dir)
      } else if (op.type === 'truncate') {
        const cut = await physical.truncateFrom(op.fromIndex)
        if (cut !== null) {
          group.dirtyFiles.add(cut)
          this.dirtyGroups.add(group)
        }
      } else if (op.type === 'snapshot') {
        if (op.reset) await physical.reset(op.meta.index)
        else await physical.deleteThrough(op.meta.index)
        await this.removeOldSnapshots(group.dir, op.meta, false)
        if (op.reset) await this.removeCorruptMarker(group.dir)
      }
    }
    group.afterApply(part.ops.length)
  }

  /**
   * Removes snapshot files older than `current`; at open (`all`), also every other snapshot file
   * and unfinished temporary one. A newer snapshot may be being written concurrently otherwise.
   */
  private async removeOldSnapshots (dir: string, current: SnapshotMeta | null, all: boolean): Promise<void> {
    const keep = current === null ? '' : snapshotFileName(current)
    let removed = false
    for (const name of await this.disk.list(dir)) {
      const parsed = parseSnapshotFileName(name)
      const stale = all ? name !== keep && (parsed !== undefined || name.endsWith('.snap.tmp')) : parsed !== undefined && parsed.index < (current?.index ?? 0)
      if (stale) {
        await this.disk.remove(joinPath(dir, name))
        removed = true
      }
    }
    if (removed) await this.syncDir(dir)
  }

  /** Syncs every dirty segment file, then records a checkpoint in a new journal file and removes the old ones. */
  private async checkpoint (): Promise<void> {
    // The journal being trimmed holds the delete records of removals still under way.
    await Promise.all(this.removals.values())
    await this.flushBuffers()
    const groups = [...this.dirtyGroups]
    this.dirtyGroups.clear()
    const paths = groups.flatMap((group) => {
      const files = [...group.dirtyFiles]
      group.dirtyFiles.clear()
      return files
    })
    const dirs = [...this.dirtyDirs]
    this.dirtyDirs.clear()
    await this.inParallel(paths, (path) => this.syncFile(path))
    await this.inParallel(dirs, (dir) => this.syncDir(dir))
    const old = this.journal
    await this.startJournal(old.seq + 1)
    // The checkpoint records every group's last index: direct appends need no journal record now.
    for (const group of this.groups.values()) {
      group.journaledLogOps = false
      group.unjournaledStamps = []
      group.unjournaledBytes = 0
    }
    await old.file.close()
    await this.writeCheckpointFile([joinPath('journal', journalFileName(old.seq))])
    this.counters.checkpoints++
  }

  private async writeCheckpointFile (obsoleteJournalFiles: string[]): Promise<void> {
    this.counters.fsyncs += await writeCheckpoint(this.disk, { journalStart: this.journal.seq, nextRoundSeq: this.nextRoundSeq, groups: this.metas })
    for (const path of obsoleteJournalFiles) await this.disk.remove(path)
  }

  private async startJournal (seq: number): Promise<void> {
    const path = joinPath('journal', journalFileName(seq))
    const file = await this.disk.open(path, { create: true })
    await file.truncate(0)
    const header = encodeJournalHeader(seq)
    await file.write(0, header)
    await file.sync()
    this.counters.fsyncs++
    await this.syncDir('journal')
    this.journal = { file, seq, size: header.length, nextRef: 1 }
  }

  private async journalSync (): Promise<void> {
    await this.journal.file.sync()
    this.counters.fsyncs++
    this.counters.journalFsyncs++
  }

  private async syncFile (path: string): Promise<void> {
    try {
      await this.files.with(path, false, (file) => file.sync())
    } catch (error) {
      // A file removed since it was written (truncation, compaction) has nothing left to sync.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw error
    }
    this.counters.fsyncs++
  }

  private async syncDir (dir: string): Promise<void> {
    await this.disk.syncDir(dir)
    this.counters.fsyncs++
  }

  private async inParallel<T> (items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < items.length) await run(items[next++])
    }
    await Promise.all(Array.from({ length: Math.min(items.length, this.settings.checkpointSyncConcurrency) }, worker))
  }

  private metaOf (group: string): GroupMeta {
    let meta = this.metas.get(group)
    if (meta === undefined) this.metas.set(group, meta = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, lastIndex: 0 })
    return meta
  }

  private async writeSnapshot (group: GroupLog, meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    const write = (async () => {
      try {
        await this.syncGroupsDir()
        this.counters.fsyncs += await writeSnapshotFile(this.disk, group.dir, meta, data, this.settings.snapshotChunkBytes)
      } catch (error) {
        this.fail(error)
        throw this.fatal
      }
    })()
    this.snapshotWrites.set(group, write)
    try {
      await write
    } finally {
      if (this.snapshotWrites.get(group) === write) this.snapshotWrites.delete(group)
    }
  }

  private async readSnapshot (group: GroupLog, meta: SnapshotMeta): Promise<Uint8Array> {
    const read = await readSnapshotFile(this.disk, group.dir, meta, this.settings.snapshotChunkBytes)
    if (read.kind === 'ok') return read.data
    const report = { file: read.file, offset: read.offset, reason: read.reason }
    group.markCorrupted(report)
    throw new GroupCorruptedError(group.group, report)
  }

  /** Records a group's corruption durably, so it keeps refusing after a restart until repaired. */
  private async writeCorruptMarker (dir: string, report: CorruptionReport): Promise<void> {
    await this.syncGroupsDir()
    const file = await this.disk.open(joinPath(dir, CORRUPT_MARKER), { create: true })
    try {
      await file.truncate(0)
      await file.write(0, utf8(JSON.stringify(report)))
      await file.sync()
    } finally {
      await file.close()
    }
    await this.syncDir(dir)
  }

  /** A repair (a snapshot replacing the whole log) is durable: the group may serve again after a restart. */
  private async removeCorruptMarker (dir: string): Promise<void> {
    if (!(await this.disk.list(dir)).includes(CORRUPT_MARKER)) return
    await this.disk.remove(joinPath(dir, CORRUPT_MARKER))
    await this.syncDir(dir)
  }

  private async readCorruptMarker (dir: string): Promise<CorruptionReport> {
    const file = await this.disk.open(joinPath(dir, CORRUPT_MARKER), { create: false })
    try {
      return JSON.parse(fromUtf8(await file.read(0, await file.size()))) as CorruptionReport
    } finally {
      await file.close()
    }
  }
}
