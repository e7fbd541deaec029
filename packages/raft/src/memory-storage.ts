// MemoryRaftStorage: an in-memory RaftStorage that models durability. Every write goes to a
// volatile view at once and to an operation journal; sync() makes the journal up to that point
// durable after `syncLatencyMs` on the clock. crash() throws the volatile view away and keeps
// only what a resolved sync (or saveSnapshot) covered; syncs pending at the crash never resolve.
import {
  type Clock, type CorruptionReport, type HardState, type LogEntry, LogCompactedError, type RaftStorage,
  type RecoveredState, type SnapshotMeta
} from '@blazar/env'
import { assert } from './errors.ts'

interface LogState {
  /** Index of entries[0]. */
  first: number
  entries: LogEntry[]
  hardState: HardState
  snapshot: { meta: SnapshotMeta, data: Uint8Array } | null
}

type Operation =
  | { kind: 'append', entries: readonly LogEntry[] }
  | { kind: 'truncate', from: number }
  | { kind: 'hardState', state: HardState }
  | { kind: 'compact', upto: number }

/** Bound on unsynced operations: a writer that never syncs is a bug, not a workload. */
export const MAX_UNSYNCED_OPERATIONS = 1_000_000

export class MemoryRaftStorage implements RaftStorage {
  private readonly clock: Clock | undefined
  private syncLatencyMs: number
  private volatile: LogState
  private durable: LogState
  private journal: Operation[] = []
  /** Operations journalled since the storage was created (journal[0] has number journalBase). */
  private journalBase = 0
  private generation = 0
  private corruption: CorruptionReport | null = null
  private syncCount = 0
  private refusal: Error | null = null

  constructor (options: { clock?: Clock, syncLatencyMs?: number } = {}) {
    this.clock = options.clock
    this.syncLatencyMs = options.syncLatencyMs ?? 0
    this.volatile = emptyState()
    this.durable = emptyState()
  }

  get recovered (): RecoveredState {
    return {
      hardState: { ...this.volatile.hardState },
      snapshot: this.volatile.snapshot?.meta ?? null,
      firstIndex: this.firstIndex(),
      lastIndex: this.lastIndex(),
      corruption: this.corruption
    }
  }

  firstIndex (): number { return this.volatile.first }

  lastIndex (): number { return this.volatile.first + this.volatile.entries.length - 1 }

  termAt (index: number): number | undefined {
    return termIn(this.volatile, index)
  }

  /** No write queue to fill: refuses only while a test set a refusal (refuseReservations). */
  reserve (entries: readonly LogEntry[]): void {
    if (entries.length > 0 && this.refusal !== null) throw this.refusal
  }

  append (entries: readonly LogEntry[]): void {
    if (entries.length === 0) return
    applyOperation(this.volatile, { kind: 'append', entries })
    this.journalOp({ kind: 'append', entries })
  }

  truncateSuffix (fromIndex: number): void {
    applyOperation(this.volatile, { kind: 'truncate', from: fromIndex })
    this.journalOp({ kind: 'truncate', from: fromIndex })
  }

  setHardState (state: HardState): void {
    applyOperation(this.volatile, { kind: 'hardState', state: { ...state } })
    this.journalOp({ kind: 'hardState', state: { ...state } })
  }

  sync (): Promise<void> {
    const upto = this.journalBase + this.journal.length
    this.syncCount++
    return this.afterLatency(() => this.makeDurable(upto))
  }

  read (from: number, toExclusive: number, maxBytes: number): Promise<LogEntry[]> {
    if (from < this.volatile.first) return Promise.reject(new LogCompactedError(from, this.volatile.first))
    const end = Math.min(toExclusive, this.lastIndex() + 1)
    const out: LogEntry[] = []
    let bytes = 0
    for (let i = from; i < end; i++) {
      const entry = this.volatile.entries[i - this.volatile.first]
      if (out.length > 0 && bytes + entry.data.length > maxBytes) break
      out.push(entry)
      bytes += entry.data.length
    }
    return Promise.resolve(out)
  }

  saveSnapshot (meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    const upto = this.journalBase + this.journal.length
    const snapshot = { meta: { ...meta, config: { voters: [...meta.config.voters], learners: [...meta.config.learners] } }, data }
    return this.afterLatency(() => {
      // Like a sync: everything written before the call is durable together with the snapshot.
      this.makeDurable(upto)
      installSnapshot(this.durable, snapshot)
      installSnapshot(this.volatile, snapshot)
    })
  }

  loadSnapshot (): Promise<{ meta: SnapshotMeta, data: Uint8Array } | null> {
    return Promise.resolve(this.volatile.snapshot)
  }

  compact (uptoIndex: number): void {
    const snapshotIndex = this.volatile.snapshot?.meta.index ?? 0
    assert(uptoIndex <= snapshotIndex, `compact ${uptoIndex} beyond snapshot ${snapshotIndex}`)
    applyOperation(this.volatile, { kind: 'compact', upto: uptoIndex })
    this.journalOp({ kind: 'compact', upto: uptoIndex })
  }

  /** Simulated crash: volatile state becomes the durable state; pending syncs never resolve. */
  crash (): void {
    this.generation++
    this.journalBase += this.journal.length
    this.journal = []
    this.volatile = cloneState(this.durable)
  }

  /** Simulated slow (or fast again) disk: latency of later sync and saveSnapshot calls. */
  setSyncLatency (ms: number): void {
    this.syncLatencyMs = ms
  }

  /** Test hook: reserve() throws `error` (a full write queue, a limit) until called with null. */
  refuseReservations (error: Error | null): void {
    this.refusal = error
  }

  /** Test hook: report corruption on the next open (storage.recovered.corruption). */
  injectCorruption (report: CorruptionReport): void {
    this.corruption = report
  }

  // ---- inspection for oracles and tests ------------------------------------------------------

  /** Every entry in the log as written (synced or not). */
  entriesForInspection (): LogEntry[] { return [...this.volatile.entries] }

  /** Entries that survive a crash now. */
  durableEntries (): LogEntry[] { return [...this.durable.entries] }

  durableHardState (): HardState { return { ...this.durable.hardState } }

  hardState (): HardState { return { ...this.volatile.hardState } }

  durableSnapshotMeta (): SnapshotMeta | null { return this.durable.snapshot?.meta ?? null }

  /** Number of sync() calls so far (flush-batching figures). */
  syncs (): number { return this.syncCount }

  private journalOp (op: Operation): void {
    assert(this.journal.length < MAX_UNSYNCED_OPERATIONS, 'too many unsynced storage operations')
    this.journal.push(op)
  }

  private makeDurable (upto: number): void {
    const count = upto - this.journalBase
    if (count <= 0) return
    for (const op of this.journal.slice(0, count)) applyOperation(this.durable, op)
    this.journal = this.journal.slice(count)
    this.journalBase = upto
  }

  private afterLatency (complete: () => void): Promise<void> {
    const generation = this.generation
    return new Promise((resolve) => {
      const run = (): void => {
        if (generation !== this.generation) return
        complete()
        resolve()
      }
      if (this.clock !== undefined && this.syncLatencyMs > 0) this.clock.setTimer(this.syncLatencyMs, run)
      else queueMicrotask(run)
    })
  }
}

function emptyState (): LogState {
  return { first: 1, entries: [], hardState: { term: 0, vote: null, commit: 0 }, snapshot: null }
}

function cloneState (state: LogState): LogState {
  return { first: state.first, entries: [...state.entries], hardState: { ...state.hardState }, snapshot: state.snapshot }
}

function termIn (state: LogState, index: number): number | undefined {
  const snapshotIndex = state.snapshot?.meta.index ?? 0
  if (index === snapshotIndex) return state.snapshot?.meta.term ?? 0
  if (index < state.first) return undefined
  return state.entries[index - state.first]?.term
}

function applyOperation (state: LogState, op: Operation): void {
  switch (op.kind) {
    case 'append': {
      const last = state.first + state.entries.length - 1
      assert(op.entries[0].index === last + 1, `append at ${op.entries[0].index} after last ${last}`)
      state.entries.push(...op.entries)
      return
    }
    case 'truncate': {
      const keep = Math.max(0, op.from - state.first)
      if (keep < state.entries.length) state.entries.length = keep
      return
    }
    case 'hardState':
      state.hardState = op.state
      return
    case 'compact': {
      const drop = Math.min(Math.max(0, op.upto - state.first + 1), state.entries.length)
      state.entries = state.entries.slice(drop)
      state.first += drop
    }
  }
}

/** Stores the snapshot and discards the log up to it (the whole log if its term there differs). */
function installSnapshot (state: LogState, snapshot: { meta: SnapshotMeta, data: Uint8Array }): void {
  const current = state.snapshot?.meta.index ?? 0
  if (snapshot.meta.index <= current) return
  const term = termIn(state, snapshot.meta.index)
  if (term === snapshot.meta.term) {
    const drop = Math.min(snapshot.meta.index - state.first + 1, state.entries.length)
    state.entries = state.entries.slice(Math.max(0, drop))
  } else {
    state.entries = []
  }
  state.first = snapshot.meta.index + 1
  state.snapshot = snapshot
  if (state.hardState.commit < snapshot.meta.index) state.hardState = { ...state.hardState, commit: snapshot.meta.index }
}
