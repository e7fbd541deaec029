// A subscription's durable cursor: everything at or below `markDelete` is acknowledged, and so
// is every message entry inside `acked` (the individually acknowledged ranges above it).
// Cursor updates only ever add acknowledgements: the acknowledged set never shrinks except by
// an explicit reset, which bumps `generation` so updates made before it are ignored.
import { MAX_PERSISTED_ACK_RANGES, type CursorEntry, type SubscriptionType } from '@blazar/protocol'
import { RangeSet, type IndexRange } from '../range-set.ts'

export interface CursorState {
  subscription: string
  type: SubscriptionType
  generation: number
  markDelete: number
  ackedRanges: IndexRange[]
}

/** The index of the next message entry after `index`, or Infinity when there is none yet. */
export type NextMessageIndex = (index: number) => number

export class SubscriptionCursor {
  readonly subscription: string
  type: SubscriptionType
  generation: number
  markDelete: number
  readonly acked: RangeSet

  constructor (state: CursorState) {
    this.subscription = state.subscription
    this.type = state.type
    this.generation = state.generation
    this.markDelete = state.markDelete
    this.acked = RangeSet.from(state.ackedRanges)
  }

  /** Whether the message entry at `index` is acknowledged. */
  isAcked (index: number): boolean {
    return index <= this.markDelete || this.acked.has(index)
  }

  /**
   * Applies an update made under `update.generation`: mark-delete moves forward only, ranges
   * are added, then ranges that now touch the mark-delete point (no unacknowledged message
   * entry in between) are folded into it. Returns false for a stale update.
   */
  advance (update: CursorEntry, nextMessageIndex: NextMessageIndex): boolean {
    if (update.generation !== this.generation) return false
    this.markDelete = Math.max(this.markDelete, update.markDelete)
    for (const [from, to] of update.ackedRanges) if (to > this.markDelete) this.acked.add(Math.max(from, this.markDelete + 1), to)
    this.normalize(nextMessageIndex)
    this.acked.truncate(MAX_PERSISTED_ACK_RANGES)
    return true
  }

  /** Moves the cursor to just below `markDelete`, forgetting individual acks (explicit reset). */
  reset (markDelete: number): void {
    this.generation++
    this.markDelete = markDelete
    this.acked.clear()
  }

  /** Folds ranges into markDelete while no unacknowledged message entry lies between them. */
  normalize (nextMessageIndex: NextMessageIndex): void {
    this.acked.removeUpTo(this.markDelete)
    for (let range = this.acked.first(); range !== undefined; range = this.acked.first()) {
      if (nextMessageIndex(this.markDelete) < range[0]) break
      this.markDelete = range[1]
      this.acked.shift()
    }
  }

  toState (): CursorState {
    return { subscription: this.subscription, type: this.type, generation: this.generation, markDelete: this.markDelete, ackedRanges: this.acked.toArray() }
  }
}
