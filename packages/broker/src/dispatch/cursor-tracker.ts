// A dispatcher's view of its subscription's cursor: the replicated cursor plus the
// acknowledgements not yet proposed, and the batching of those proposals through Raft (one
// `cursor` entry per interval or per N acknowledged batches, one proposal in flight, a failed
// proposal retried). Proposals are idempotent full states, so a retry or a duplicate is harmless.
import type { Env, TimerHandle } from '@blazar/env'
import { MAX_PERSISTED_ACK_RANGES, MAX_PERSISTED_BATCH_ACKS, type CursorEntry } from '@blazar/protocol'
import { SubscriptionCursor, type CursorState } from '../partition/subscription-cursor.ts'

export interface CursorTrackerOptions {
  env: Env
  topic: string
  cursor: CursorState
  nextMessageIndex: (index: number) => number
  proposeCursor: (update: CursorEntry) => Promise<void>
  flushIntervalMs: number
  flushMaxAcks: number
}

export class CursorTracker {
  private readonly options: CursorTrackerOptions
  private cursor: SubscriptionCursor
  private ackedSinceFlush = 0
  private timer: TimerHandle | null = null
  private flushing = false
  private lastProposed: string
  private stopped = false

  constructor (options: CursorTrackerOptions) {
    this.options = options
    this.cursor = new SubscriptionCursor(options.cursor)
    this.lastProposed = JSON.stringify(this.update())
  }

  get markDelete (): number {
    return this.cursor.markDelete
  }

  isAcked (index: number): boolean {
    return this.cursor.isAcked(index)
  }

  /** A whole batch was acknowledged. */
  ackEntry (index: number): void {
    if (index > this.cursor.markDelete) this.cursor.acked.add(index, index)
    this.ackedSinceFlush++
  }

  /** Batch-index acks: some messages of the batch at `index` are acknowledged. */
  ackBatchIndexes (index: number, batchIndexes: Iterable<number>): void {
    this.cursor.ackBatchIndexes(index, batchIndexes)
    this.ackedSinceFlush++
  }

  /** The acknowledged messages of a partly acknowledged batch (empty if none). */
  ackedBatchIndexes (index: number): number[] {
    return this.cursor.ackedBatchIndexes(index)
  }

  /** Everything up to `upTo` is acknowledged (cumulative ack). */
  ackUpTo (upTo: number): void {
    if (upTo <= this.cursor.markDelete) return
    this.cursor.markDelete = upTo
    this.ackedSinceFlush++
  }

  /** Folds acknowledged ranges into mark-delete and schedules a proposal. */
  changed (): void {
    this.cursor.normalize((index) => this.options.nextMessageIndex(index))
    this.schedule()
  }

  /** Replaces the state after a reset entry was applied (new generation). */
  reset (state: CursorState): void {
    this.cursor = new SubscriptionCursor(state)
    this.lastProposed = JSON.stringify(this.update())
    this.ackedSinceFlush = 0
  }

  update (): CursorEntry {
    return {
      subscription: this.cursor.subscription,
      generation: this.cursor.generation,
      markDelete: this.cursor.markDelete,
      ackedRanges: this.cursor.acked.toArray().slice(0, MAX_PERSISTED_ACK_RANGES),
      batchAcks: this.cursor.batchAckList().slice(0, MAX_PERSISTED_BATCH_ACKS)
    }
  }

  /** Proposes the cursor now if it changed since the last proposal. */
  async flush (): Promise<void> {
    this.clearTimer()
    const update = this.update()
    const key = JSON.stringify(update)
    if (this.stopped || this.flushing || key === this.lastProposed) return
    this.flushing = true
    this.ackedSinceFlush = 0
    try {
      await this.options.proposeCursor(update)
      this.lastProposed = key
    } catch (error) {
      this.options.env.logger.warn('cursor proposal failed; will retry', { topic: this.options.topic, subscription: update.subscription, error: String(error) })
    } finally {
      this.flushing = false
    }
    if (JSON.stringify(this.update()) !== this.lastProposed) this.schedule()
  }

  stop (): void {
    this.stopped = true
    this.clearTimer()
  }

  private schedule (): void {
    if (this.stopped || this.timer !== null) return
    if (this.ackedSinceFlush >= this.options.flushMaxAcks) {
      void this.flush()
      return
    }
    this.timer = this.options.env.clock.setTimer(this.options.flushIntervalMs, () => {
      this.timer = null
      void this.flush()
    })
  }

  private clearTimer (): void {
    if (this.timer !== null) this.options.env.clock.clearTimer(this.timer)
    this.timer = null
  }
}
