// A RaftStorage wrapper, one per node incarnation: it passes every call to the node's
// MemoryRaftStorage and shows each write to the oracles (log matching, truncation of committed
// entries, snapshots) and to scenario hooks (crash at a write boundary). Once its incarnation
// is dead it swallows writes and never resolves syncs, so a crashed process cannot touch its
// disk afterwards.
import type { LogEntry, HardState, RaftStorage, RecoveredState, SnapshotMeta } from '@blazar/env'
import type { Oracles } from './oracles.ts'

export type StorageBoundary = 'append' | 'truncate' | 'hardState' | 'sync' | 'synced' | 'snapshot' | 'snapshotSaved' | 'compact'

export class ObservedStorage implements RaftStorage {
  private readonly inner: RaftStorage
  private readonly node: string
  private readonly oracles: Oracles
  private readonly onBoundary: (boundary: StorageBoundary, hardState?: HardState) => void
  private dead = false

  constructor (options: { inner: RaftStorage, node: string, oracles: Oracles, onBoundary: (boundary: StorageBoundary, hardState?: HardState) => void }) {
    this.inner = options.inner
    this.node = options.node
    this.oracles = options.oracles
    this.onBoundary = options.onBoundary
  }

  /** The process died: later calls from its zombie code must not reach the disk. */
  kill (): void {
    this.dead = true
  }

  get recovered (): RecoveredState {
    return this.inner.recovered
  }

  firstIndex (): number { return this.inner.firstIndex() }
  lastIndex (): number { return this.inner.lastIndex() }
  termAt (index: number): number | undefined { return this.inner.termAt(index) }

  reserve (entries: readonly LogEntry[]): void { this.inner.reserve(entries) }

  append (entries: readonly LogEntry[]): void {
    if (entries.length === 0) return
    if (this.dead) {
      this.inner.append(entries)
      return
    }
    const prevTerm = this.inner.termAt(entries[0].index - 1) ?? 0
    this.inner.append(entries)
    this.oracles.appended(this.node, entries, prevTerm)
    this.onBoundary('append')
  }

  truncateSuffix (fromIndex: number): void {
    if (this.dead) {
      this.inner.truncateSuffix(fromIndex)
      return
    }
    this.oracles.truncated(this.node, fromIndex)
    this.inner.truncateSuffix(fromIndex)
    this.onBoundary('truncate')
  }

  setHardState (state: HardState): void {
    if (this.dead) {
      this.inner.setHardState(state)
      return
    }
    this.inner.setHardState(state)
    this.onBoundary('hardState', state)
  }

  sync (): Promise<void> {
    if (this.dead) return new Promise(() => {})
    const done = this.inner.sync()
    this.onBoundary('sync')
    return done.then(() => {
      if (this.dead) return new Promise<void>(() => {})
      this.onBoundary('synced')
    })
  }

  read (from: number, toExclusive: number, maxBytes: number): Promise<LogEntry[]> {
    return this.inner.read(from, toExclusive, maxBytes)
  }

  saveSnapshot (meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    if (this.dead) return new Promise(() => {})
    this.oracles.snapshotSaved(this.node, meta)
    const done = this.inner.saveSnapshot(meta, data)
    this.onBoundary('snapshot')
    return done.then(() => {
      if (this.dead) return new Promise<void>(() => {})
      this.onBoundary('snapshotSaved')
    })
  }

  loadSnapshot (): Promise<{ meta: SnapshotMeta, data: Uint8Array } | null> {
    return this.inner.loadSnapshot()
  }

  compact (uptoIndex: number): void {
    if (this.dead) {
      this.inner.compact(uptoIndex)
      return
    }
    this.inner.compact(uptoIndex)
    this.onBoundary('compact')
  }
}
