// Batches delivered to one consumer and not yet acknowledged, with the batch indexes acked so
// far: a batch counts as acknowledged once all its messages are (Pulsar without batch-index
// acks), and a half-acknowledged batch is redelivered whole.
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

  add (index: number, messageCount: number): void {
    this.entries.set(index, { messageCount, ackedBatchIndexes: new Set() })
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

  /** Acks one message; returns true when its whole batch is now acknowledged (and removed). */
  ackMessage (index: number, batchIndex: number): boolean {
    const entry = this.entries.get(index)
    if (entry === undefined || batchIndex < 0 || batchIndex >= entry.messageCount) return false
    entry.ackedBatchIndexes.add(batchIndex)
    if (entry.ackedBatchIndexes.size < entry.messageCount) return false
    this.remove(index)
    return true
  }

  /** Acks messages 0..batchIndex of a batch; returns true when the whole batch is acknowledged. */
  ackUpTo (index: number, batchIndex: number): boolean {
    const entry = this.entries.get(index)
    if (entry === undefined) return false
    for (let i = 0; i <= Math.min(batchIndex, entry.messageCount - 1); i++) entry.ackedBatchIndexes.add(i)
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
