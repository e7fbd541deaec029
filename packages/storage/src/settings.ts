// Named limits of the log store. Every queue, buffer and batch in this package is bounded by
// one of these; docs/storage.md explains each one and its default.

export interface StoreSettings {
  /** A segment file is closed and a new one started once it reaches this size. */
  segmentBytes: number
  /** One sparse-index point per this many bytes of a segment (bounds the bytes a read scans to find its first entry). */
  sparseIndexBytes: number
  /** The journal is checkpointed (segments flushed, journal trimmed) once the current journal file reaches this size. */
  checkpointJournalBytes: number
  /** Upper bound on the bytes of one journal round (one write + one fsync). */
  maxRoundBytes: number
  /** Upper bound on the bytes buffered by append/truncate/setHardState and not yet in a journal round (node-wide). */
  maxPendingBytes: number
  /** Upper bound on one entry's data. */
  maxEntryBytes: number
  /** A group whose appends in one round reach this many bytes writes them straight to its segment (no journal copy). */
  directWriteBytes: number
  /** Node-wide read cache of segment blocks. */
  readCacheBytes: number
  /** Size of one cached block (and of one read from a segment file). */
  readBlockBytes: number
  /** Segment files kept open at once (node-wide); the least recently used is closed beyond this. */
  maxOpenFiles: number
  /** Segment fsyncs issued in parallel during a checkpoint. */
  checkpointSyncConcurrency: number
  /** Snapshot data is written and read in chunks of this size. */
  snapshotChunkBytes: number
  /** A group's appended records are buffered in memory until this many bytes, then written to its segment in one write. */
  segmentWriteBufferBytes: number
  /** Node-wide bound on those buffers: beyond it every buffer is written out. */
  writeBehindBytes: number
  /**
   * Direct appends a group may make without any journal record (one fsync per round instead of
   * two); past this, or when a new segment starts, the round is journaled. Bounds the tail whose
   * damage recovery cannot tell from a torn write.
   */
  unjournaledDirectBytes: number
}

export const defaultStoreSettings: StoreSettings = {
  segmentBytes: 64 * 2 ** 20,
  sparseIndexBytes: 64 * 2 ** 10,
  checkpointJournalBytes: 256 * 2 ** 20,
  maxRoundBytes: 32 * 2 ** 20,
  maxPendingBytes: 256 * 2 ** 20,
  maxEntryBytes: 16 * 2 ** 20,
  directWriteBytes: 256 * 2 ** 10,
  readCacheBytes: 64 * 2 ** 20,
  readBlockBytes: 64 * 2 ** 10,
  maxOpenFiles: 1024,
  checkpointSyncConcurrency: 16,
  snapshotChunkBytes: 1 * 2 ** 20,
  segmentWriteBufferBytes: 64 * 2 ** 10,
  writeBehindBytes: 64 * 2 ** 20,
  unjournaledDirectBytes: 8 * 2 ** 20
}

export function resolveSettings (overrides: Partial<StoreSettings> = {}): StoreSettings {
  const settings = { ...defaultStoreSettings, ...overrides }
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`store setting ${name} must be a positive integer, got ${value}`)
  }
  if (settings.maxEntryBytes + 64 > settings.maxRoundBytes) throw new RangeError('maxEntryBytes must fit in one journal round (maxRoundBytes)')
  if (settings.maxRoundBytes > settings.maxPendingBytes) throw new RangeError('maxRoundBytes must be <= maxPendingBytes')
  return settings
}
