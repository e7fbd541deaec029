// A subscription's durable cursor: everything at or below `markDelete` is acknowledged, and so
// is every message entry inside `acked` (the individually acknowledged ranges above it); a
// batch above both may be partly acknowledged (`batchAcks`: batch-index acks, Pulsar's
// acknowledgmentAtBatchIndexLevel). Cursor updates only ever add acknowledgements: the
// acknowledged set never shrinks except by an explicit reset, which bumps `generation` so
// updates made before it are ignored.
import { MAX_PERSISTED_ACK_RANGES, MAX_PERSISTED_BATCH_ACKS, type CursorEntry, type SubscriptionType } from '@blazar/protocol'
import { RangeSet, type IndexRange } from '../range-set.ts'

/** A partly acknowledged batch: its index and the acknowledged batch indexes, ascending. */
export type BatchAck = [index: number, batchIndexes: number[]]

export interface CursorState {
  subscription: string
  type: SubscriptionType
  generation: number
  markDelete: number
  ackedRanges: IndexRange[]
  batchAcks: BatchAck[]
}

/** The index of the next message entry after `index`, or Infinity when there is none yet. */
export type NextMessageIndex = (index: number) => number

export class SubscriptionCursor {
  readonly subscription: string
  type: SubscriptionType
  generation: number
  markDelete: number
  readonly acked: RangeSet
  /** Partly acknowledged batches above markDelete and outside `acked`: index → acked batch indexes. */
  readonly batchAcks: Map<number, Set<number>>

  constructor (state: CursorState) {
    this.subscription = state.subscription
    this.type = state.type
    this.generation = state.generation
    this.markDelete = state.markDelete
    this.acked = RangeSet.from(state.ackedRanges)
    this.batchAcks = new Map(state.batchAcks.map(([index, batchIndexes]) => [index, new Set(batchIndexes)]))
  }

  /** Whether the whole message entry at `index` is acknowledged. */
  isAcked (index: number): boolean {
    return index <= this.markDelete || this.acked.has(index)
  }

  /** The acknowledged batch indexes of a partly acknowledged batch, ascending (empty if none). */
  ackedBatchIndexes (index: number): number[] {
    const acked = this.batchAcks.get(index)
    return acked === undefined ? [] : [...acked].sort((a, b) => a - b)
  }

  /** Records batch-index acks of the batch at `index` (ignored once the whole batch is acknowledged). */
  ackBatchIndexes (index: number, batchIndexes: Iterable<number>): void {
    const added = [...batchIndexes]
    if (this.isAcked(index) || added.length === 0) return
    let acked = this.batchAcks.get(index)
    if (acked === undefined) {
      acked = new Set()
      this.batchAcks.set(index, acked)
    }
    for (const batchIndex of added) acked.add(batchIndex)
  }

  /**
   * Applies an update made under `update.generation`: mark-delete moves forward only, ranges
   * and batch-index acks are added, then ranges that now touch the mark-delete point (no
   * unacknowledged message entry in between) are folded into it. Returns false for a stale update.
   */
  advance (update: CursorEntry, nextMessageIndex: NextMessageIndex): boolean {
    if (update.generation !== this.generation) return false
    this.markDelete = Math.max(this.markDelete, update.markDelete)
    for (const [from, to] of update.ackedRanges) if (to > this.markDelete) this.acked.add(Math.max(from, this.markDelete + 1), to)
    for (const [index, batchIndexes] of update.batchAcks ?? []) this.ackBatchIndexes(index, batchIndexes)
    this.normalize(nextMessageIndex)
    this.acked.truncate(MAX_PERSISTED_ACK_RANGES)
    this.truncateBatchAcks(MAX_PERSISTED_BATCH_ACKS)
    return true
  }

  /** Moves the cursor to `markDelete` (and the given partial acks), forgetting individual acks (explicit reset). */
  reset (markDelete: number, batchAcks: readonly BatchAck[] = []): void {
    this.generation++
    this.markDelete = markDelete
    this.acked.clear()
    this.batchAcks.clear()
    for (const [index, batchIndexes] of batchAcks) this.ackBatchIndexes(index, batchIndexes)
  }

  /** Folds ranges into markDelete while no unacknowledged message entry lies between them; drops batch acks of acknowledged batches. */
  normalize (nextMessageIndex: NextMessageIndex): void {
    this.acked.removeUpTo(this.markDelete)
    for (let range = this.acked.first(); range !== undefined; range = this.acked.first()) {
      if (nextMessageIndex(this.markDelete) < range[0]) break
      this.markDelete = range[1]
      this.acked.shift()
    }
    for (const index of [...this.batchAcks.keys()]) if (this.isAcked(index)) this.batchAcks.delete(index)
  }

  toState (): CursorState {
    return {
      subscription: this.subscription,
      type: this.type,
      generation: this.generation,
      markDelete: this.markDelete,
      ackedRanges: this.acked.toArray(),
      batchAcks: this.batchAckList()
    }
  }

  /** The partly acknowledged batches, ascending by index. */
  batchAckList (): BatchAck[] {
    return [...this.batchAcks.keys()].sort((a, b) => a - b).map((index) => [index, this.ackedBatchIndexes(index)])
  }

  /** Keeps the lowest `max` partly acknowledged batches (as Pulsar persists the first N). */
  private truncateBatchAcks (max: number): void {
    if (this.batchAcks.size <= max) return
    for (const index of [...this.batchAcks.keys()].sort((a, b) => a - b).slice(max)) this.batchAcks.delete(index)
  }
}
