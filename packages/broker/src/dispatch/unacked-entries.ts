// Batches delivered to one consumer and not yet acknowledged, with the batch indexes acked so
// far: a batch counts as acknowledged once all its messages are. The partial acks themselves
// live in the cursor (batch-index acks), so a redelivered batch carries what is acked already.
interface UnackedEntry {
  messageCount: number
  ackedBatchIndexes: Set<number>
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
  add (index: number, messageCount: number, acked: readonly number[] = []): void {
    this.entries.set(index, { messageCount, ackedBatchIndexes: new Set(acked) })
    this.messages += messageCount
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
