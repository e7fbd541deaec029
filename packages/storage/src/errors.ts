// Error classes of @blazar/storage, one per error, each with a stable name and code.
// StorageFatalError, LogCompactedError, StorageBackpressureError and StorageLimitError belong to
// the RaftStorage contract in @blazar/env (re-exported here).
import type { CorruptionReport } from '@blazar/env'

export { StorageBackpressureError, StorageLimitError } from '@blazar/env'

/** Synced data failed its checksum: the group must not vote or serve until repaired from peers. */
export class GroupCorruptedError extends Error {
  static readonly code = 'GROUP_CORRUPTED'
  readonly code = GroupCorruptedError.code
  readonly report: CorruptionReport
  constructor (group: string, report: CorruptionReport) {
    super(`group ${group} is corrupted (${report.reason} in ${report.file} at offset ${report.offset}); repair it with a snapshot from a peer`)
    this.name = 'GroupCorruptedError'
    this.report = report
  }
}

/** The group was deleted (LogStore.deleteGroup): its handle no longer accepts calls. */
export class GroupDeletedError extends Error {
  static readonly code = 'GROUP_DELETED'
  readonly code = GroupDeletedError.code
  constructor (group: string) {
    super(`group ${group} was deleted from this node's log store`)
    this.name = 'GroupDeletedError'
  }
}

/** The store was closed; its group handles no longer accept calls. */
export class StoreClosedError extends Error {
  static readonly code = 'STORE_CLOSED'
  readonly code = StoreClosedError.code
  constructor () {
    super('the log store is closed')
    this.name = 'StoreClosedError'
  }
}

/** Node-level metadata (the checkpoint file or a journal round) failed its checksum. */
export class StoreCorruptedError extends Error {
  static readonly code = 'STORE_CORRUPTED'
  readonly code = StoreCorruptedError.code
  readonly report: CorruptionReport
  constructor (report: CorruptionReport) {
    super(`log store metadata is corrupted: ${report.reason} in ${report.file} at offset ${report.offset}`)
    this.name = 'StoreCorruptedError'
    this.report = report
  }
}

/** An I/O error injected by the simulated disk (EIO on fsync, write or read). */
export class DiskFaultError extends Error {
  static readonly code = 'DISK_FAULT'
  readonly code = DiskFaultError.code
  constructor (message: string) {
    super(message)
    this.name = 'DiskFaultError'
  }
}

/** Thrown by invariant checks; a failed one means a bug, and the store stops rather than continue wrong. */
export class StorageAssertionError extends Error {
  static readonly code = 'STORAGE_ASSERTION'
  readonly code = StorageAssertionError.code
  constructor (message: string) {
    super(message)
    this.name = 'StorageAssertionError'
  }
}

export function assert (condition: boolean, message: string): asserts condition {
  if (!condition) throw new StorageAssertionError(message)
}
