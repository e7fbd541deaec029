// Operations a group hands to the store's commit pipeline: buffered in memory until a journal
// round takes them, durable when that round's fsync returns, applied to segments afterwards.
import type { HardState, LogEntry, SnapshotMeta } from '@blazar/env'

interface OpBase {
  /** Node-wide order of the operation; a sync() waits until durableSeq reaches its group's last seq. */
  seq: number
  /** The group's lastIndex right after this operation. */
  lastAfter: number
  /** Bytes the operation adds to a journal round (an estimate that bounds memory). */
  bytes: number
}

export type GroupOp =
  | (OpBase & { type: 'append', entries: LogEntry[] })
  | (OpBase & { type: 'truncate', fromIndex: number })
  | (OpBase & { type: 'hardState', state: HardState })
  | (OpBase & { type: 'snapshot', meta: SnapshotMeta, reset: boolean })
  /** The group's last operation: once durable, its files are removed (LogStore.deleteGroup). */
  | (OpBase & { type: 'deleteGroup' })

/** Where an operation leaves the suffix of the physical log usable: entries above it are rewritten. */
export function cutPoint (op: GroupOp): number {
  if (op.type === 'truncate') return op.fromIndex - 1
  if (op.type === 'snapshot' && op.reset) return op.meta.index
  return Number.POSITIVE_INFINITY
}

/** Encodes a group id as one safe directory name (letters, digits, '-', '_' kept; the rest %XX). */
export function groupDirName (group: string): string {
  return encodeURIComponent(group).replace(/[.!~*'()]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}
