// Batches delivered to one consumer and not yet acknowledged, with the batch indexes acked so
// far: a batch counts as acknowledged once all its messages are. The partial acks themselves
// live in the cursor (batch-index acks), so a redelivered batch carries what is acked already.
import type { OrderKey } from './dispatch-policy.ts'

interface UnackedEntry {
  messageCount: number
  ackedBatchIndexes: Set<number>
  key: OrderKey
  /** When it was delivered (Env clock), for stats: the oldest unacknowledged message's age. */
  deliveredAt: number
}

export class UnackedEntries {
  private readonly entries = new Map<number, UnackedEntry>()
  private messages = 0

  get size (): number {
    return this.entries.size
  }

  /** Messages in unacknowledged batches. */
  get messageCount (): number {
    return this.messages
  }

  /** A batch was delivered; `acked`: its messages acknowledged before (batch-index acks). */
  add (index: number, delivery: { messageCount: number, acked: readonly number[], key: OrderKey, deliveredAt: number }): void {
    this.entries.set(index, { messageCount: delivery.messageCount, ackedBatchIndexes: new Set(delivery.acked), key: delivery.key, deliveredAt: delivery.deliveredAt })
    this.messages += delivery.messageCount
  }

  /** The ordering domain the batch was delivered under. */
  keyOf (index: number): OrderKey {
    return this.entries.get(index)?.key ?? null
  }

  /** The earliest-delivered unacknowledged batch, if any. */
  oldest (): { index: number, deliveredAt: number } | undefined {
    let oldest: { index: number, deliveredAt: number } | undefined
    for (const [index, entry] of this.entries) if (oldest === undefined || entry.deliveredAt < oldest.deliveredAt || (entry.deliveredAt === oldest.deliveredAt && index < oldest.index)) oldest = { index, deliveredAt: entry.deliveredAt }
    return oldest
  }

  /** Messages of the batch at `index` (0 if it is not here). */
  messageCountOf (index: number): number {
    return this.entries.get(index)?.messageCount ?? 0
  }

  has (index: number): boolean {
    return this.entries.has(index)
  }

  indexes (): number[] {
    return [...this.entries.keys()]
  }

  /**
   * Acks one message (batch index -1: the whole batch). `complete`: the whole batch is now
   * acknowledged (and removed); `partial`: only some of its messages are; `ignored`: not here.
   */
  ackMessage (index: number, batchIndex: number): 'complete' | 'partial' | 'ignored' {
    const entry = this.entries.get(index)
    if (entry === undefined || batchIndex >= entry.messageCount) return 'ignored'
    if (batchIndex < 0) {
      this.remove(index)
      return 'complete'
    }
    entry.ackedBatchIndexes.add(batchIndex)
    if (entry.ackedBatchIndexes.size < entry.messageCount) return 'partial'
    this.remove(index)
    return 'complete'
  }

  /** The acknowledged batch indexes of an unacknowledged batch. */
  ackedIndexesOf (index: number): number[] {
    return [...(this.entries.get(index)?.ackedBatchIndexes ?? [])]
  }

  /** Acks messages 0..batchIndex of a batch (-1: all); returns true when the whole batch is acknowledged. */
  ackUpTo (index: number, batchIndex: number): boolean {
    const entry = this.entries.get(index)
    if (entry === undefined) return false
    const last = batchIndex < 0 ? entry.messageCount - 1 : Math.min(batchIndex, entry.messageCount - 1)
    for (let i = 0; i <= last; i++) entry.ackedBatchIndexes.add(i)
    if (entry.ackedBatchIndexes.size < entry.messageCount) return false
    this.remove(index)
    return true
  }

  remove (index: number): void {
    const entry = this.entries.get(index)
    if (entry === undefined) return
    this.entries.delete(index)
    this.messages -= entry.messageCount
  }

  /** Removes and returns every unacknowledged batch index (to be redelivered). */
  takeAll (): number[] {
    const indexes = this.indexes()
    this.entries.clear()
    this.messages = 0
    return indexes
  }
}
