// The contract between a Raft group and the disk that holds its log (DESIGN.md §8).
// Implemented by @blazar/storage (node-wide journal + per-group segments, real or simulated
// disk) and by the in-memory storage of @blazar/raft's tests. Durability is explicit: append,
// truncate and hard-state writes are buffered and become durable only when a later `sync()`
// resolves. A crash loses everything not yet synced, never anything synced.
import type { NodeId } from './network.ts'

/** Raft group identity: `meta` for the metadata group, a partition's name otherwise. */
export type GroupId = string

export interface LogEntry {
  index: number
  term: number
  /** Entry kind, owned by the layer above Raft (0 = Raft's own no-op/config entries). */
  kind: number
  data: Uint8Array
}

/** Term and vote must be durable before the node replies to anything in that term. */
export interface HardState {
  term: number
  vote: NodeId | null
  commit: number
}

/** Group membership. During a joint change `outgoingVoters` holds the old voter set. */
export interface MembershipConfig {
  voters: NodeId[]
  learners: NodeId[]
  outgoingVoters?: NodeId[]
}

/** What a snapshot covers: every entry up to and including `index` (whose term is `term`). */
export interface SnapshotMeta {
  index: number
  term: number
  config: MembershipConfig
}

/** A bad checksum found in already-synced data: the group must not vote or serve. */
export interface CorruptionReport {
  file: string
  offset: number
  reason: string
}

/** Everything a group finds on disk when it opens. */
export interface RecoveredState {
  hardState: HardState
  snapshot: SnapshotMeta | null
  /** Index of the first entry in the log (snapshot.index + 1, or 1 for an empty group). */
  firstIndex: number
  /** Index of the last entry (firstIndex - 1 when the log is empty). */
  lastIndex: number
  corruption: CorruptionReport | null
}

export interface RaftStorage {
  /** Read once when the group starts. */
  readonly recovered: RecoveredState
  /** First index still in the log (after compaction). */
  firstIndex (): number
  /** Last index written (synced or not). */
  lastIndex (): number
  /**
   * Term of the entry at `index`, answered from memory. Defined for
   * snapshot.index <= index <= lastIndex (the snapshot's own index gives its term); undefined
   * outside that range.
   */
  termAt (index: number): number | undefined
  /**
   * Flow control, before entries enter a Raft log: holds room in the write queue for
   * `entries`, to be written by a later append() (this group's next write takes the room over).
   * Throws StorageBackpressureError while the queue is full (retriable: it drains as syncs
   * complete) and StorageLimitError for an entry over a limit (never storable). Throws before
   * any effect. Writes never refuse for lack of room; reserving first is what bounds the queue.
   */
  reserve (entries: readonly LogEntry[]): void
  /** Appends entries that follow lastIndex() without a gap. Buffered until sync(). */
  append (entries: readonly LogEntry[]): void
  /** Removes every entry with index >= fromIndex (a conflicting suffix). Buffered until sync(). */
  truncateSuffix (fromIndex: number): void
  /** Records term, vote and commit. Buffered until sync(). */
  setHardState (state: HardState): void
  /**
   * Resolves once every earlier append, truncateSuffix and setHardState is durable.
   * Rejects with a StorageFatalError if the disk failed; the node must then stop.
   */
  sync (): Promise<void>
  /**
   * Entries in [from, toExclusive), stopping early once `maxBytes` of data is collected
   * (always at least one entry when the range is non-empty). Rejects with a
   * LogCompactedError if `from` < firstIndex().
   */
  read (from: number, toExclusive: number, maxBytes: number): Promise<LogEntry[]>
  /**
   * Durably stores a snapshot and then discards the log up to meta.index (the whole log if
   * its term at meta.index differs). Resolves once durable.
   */
  saveSnapshot (meta: SnapshotMeta, data: Uint8Array): Promise<void>
  /** The latest snapshot, or null. */
  loadSnapshot (): Promise<{ meta: SnapshotMeta, data: Uint8Array } | null>
  /**
   * Discards entries with index <= uptoIndex (uptoIndex must be <= the snapshot's index).
   * Used for log compaction and retention; may keep more than asked (whole segments only).
   */
  compact (uptoIndex: number): void
}

export class LogCompactedError extends Error {
  static readonly code = 'LOG_COMPACTED'
  readonly code = LogCompactedError.code
  constructor (index: number, firstIndex: number) {
    super(`entry ${index} was compacted; the log starts at ${firstIndex}`)
    this.name = 'LogCompactedError'
  }
}

export class StorageFatalError extends Error {
  static readonly code = 'STORAGE_FATAL'
  readonly code = StorageFatalError.code
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StorageFatalError'
  }
}

/** The write queue is full: entries are refused until syncs drain it (retriable). */
export class StorageBackpressureError extends Error {
  static readonly code = 'STORAGE_BACKPRESSURE'
  readonly code = StorageBackpressureError.code
  readonly limit: number
  constructor (pendingBytes: number, limit: number, setting = 'maxPendingBytes') {
    super(`${pendingBytes} bytes would wait for the write queue, over the limit of ${limit} (${setting}); retry once it drained`)
    this.name = 'StorageBackpressureError'
    this.limit = limit
  }
}

/** A request exceeds a named limit of the storage (an entry larger than maxEntryBytes, ...); retrying cannot help. */
export class StorageLimitError extends Error {
  static readonly code = 'STORAGE_LIMIT'
  readonly code = StorageLimitError.code
  /** The setting exceeded, the value asked for, and the setting's value. */
  readonly limit: string
  readonly value: number
  readonly max: number
  constructor (limit: string, value: number, max: number, what = 'a request') {
    super(`${what} of ${value} bytes is over ${limit} (${max})`)
    this.name = 'StorageLimitError'
    this.limit = limit
    this.value = value
    this.max = max
  }
}
