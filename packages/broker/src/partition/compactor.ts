// Topic compaction on a partition's leader: the CompactedView built up to the replicated
// horizon (`compaction` entries), by reading the retained batches at or below it. The view is
// a function of the horizon and the retained log (retention never trims below what it keeps),
// so every leader builds the same one, after a restart, a snapshot install or a leader change
// too; only the leader builds it (followers serve no reads). Raising the horizon continues from
// the view already built. Its `trimBound` is what retention may trim to.
import type { Logger } from '@blazar/env'
import { BlazarError, NotLeaderError, type CompressionCodecs } from '@blazar/protocol'
import { CompactedView, MAX_COMPACTED_KEYS } from './compacted-view.ts'
import type { PartitionStateMachine } from './partition-state-machine.ts'

/** Batches per log read while building the view (Pulsar's compactor reads 100 entries at a time too). */
export const COMPACTION_READ_ENTRIES = 100
/** Bytes per log read while building the view. */
export const COMPACTION_READ_BYTES = 8 * 1024 * 1024

export interface CompactorOptions {
  sm: PartitionStateMachine
  /** The host's compression codecs: a batch compressed with one it lacks is left out of the view. */
  codecs: CompressionCodecs
  logger: Logger
  /** Whether this replica leads the partition: only a leader builds the view. */
  isLeading: () => boolean
  maxKeys?: number
}

/** What `status` reports (the REST compaction status). */
export interface CompactionStatus {
  /** The replicated horizon (0: never compacted). */
  horizon: number
  /** The horizon the view is built to on this leader. */
  builtTo: number
  keys: number
  /** Set when building the view at `horizon` failed (LIMIT_EXCEEDED past MAX_COMPACTED_KEYS). */
  error?: string
}

export class Compactor {
  private readonly options: CompactorOptions
  private view: CompactedView
  private building: Promise<CompactedView> | null = null
  /** The error of the last build, and the horizon it was at (a new horizon retries from scratch). */
  private failure: { horizon: number, error: BlazarError } | null = null

  constructor (options: CompactorOptions) {
    this.options = options
    this.view = this.emptyView()
  }

  /**
   * The view built up to the current horizon (building what is missing). Throws the build's
   * typed error (LIMIT_EXCEEDED) until a later horizon builds, NotLeader once leadership went.
   */
  async current (): Promise<CompactedView> {
    for (;;) {
      if (!this.options.isLeading()) throw new NotLeaderError({ group: this.options.sm.topic, leaderHint: null })
      const horizon = this.options.sm.compactionHorizon
      if (this.failure !== null && this.failure.horizon === horizon) throw this.failure.error
      if (this.view.horizon === horizon) return this.view
      this.building ??= this.build().finally(() => { this.building = null })
      await this.building
    }
  }

  /** The built view if it covers the current horizon, else null (nothing awaited). */
  ready (): CompactedView | null {
    return this.view.horizon === this.options.sm.compactionHorizon && this.failure === null ? this.view : null
  }

  /**
   * How far retention may trim: undefined before any compaction (no bound); else the view's
   * bound and the horizon it was computed under (to put in the `trim` entry), or null when the
   * view cannot be built (then nothing is trimmed).
   */
  async trimBound (): Promise<{ upTo: number, compactionHorizon: number } | null | undefined> {
    if (this.options.sm.compactionHorizon === 0) return undefined
    try {
      const view = await this.current()
      return { upTo: view.trimBound(), compactionHorizon: view.horizon }
    } catch (error) {
      if (error instanceof BlazarError) return null
      throw error
    }
  }

  status (): CompactionStatus {
    const status: CompactionStatus = { horizon: this.options.sm.compactionHorizon, builtTo: this.view.horizon, keys: this.view.keys }
    if (this.failure !== null) status.error = this.failure.error.message
    return status
  }

  /** Leadership went: the memory goes with it (a later leadership rebuilds from the log). */
  release (): void {
    this.view = this.emptyView()
    this.failure = null
  }

  private emptyView (): CompactedView {
    return new CompactedView(this.options.codecs, this.options.maxKeys ?? MAX_COMPACTED_KEYS)
  }

  private async build (): Promise<CompactedView> {
    const { sm } = this.options
    const horizon = sm.compactionHorizon
    if (this.failure !== null) {
      this.failure = null
      this.view = this.emptyView()
    }
    const view = this.view
    try {
      let from = Math.max(view.fedThrough, view.horizon) + 1
      while (from <= horizon) {
        const batches = await sm.read(from, { maxEntries: COMPACTION_READ_ENTRIES, maxBytes: COMPACTION_READ_BYTES })
        const covered = batches.filter((batch) => batch.index <= horizon)
        // The view was released (leadership lost) while reading: that build is void.
        if (view !== this.view) return view
        for (const batch of covered) view.add(batch.index, batch.envelope)
        if (covered.length < batches.length || batches.length === 0) break
        from = covered[covered.length - 1].index + 1
      }
      view.cover(horizon)
      if (view.undecodable > 0) this.options.logger.warn('compaction left out batches it cannot decode', { topic: sm.topic, batches: view.undecodable })
      return view
    } catch (error) {
      if (!(error instanceof BlazarError)) throw error
      this.options.logger.warn('compaction failed', { topic: sm.topic, horizon, code: error.code })
      if (view === this.view) this.failure = { horizon, error }
      return view
    }
  }
}
