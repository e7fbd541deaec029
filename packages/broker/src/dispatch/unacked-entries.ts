// Batches delivered to the consumer and not yet acknowledged, with the batch indexes acked so
// far (a batch counts as acknowledged once all its messages are, as Pulsar without batch-index
// acks), and how often each batch was redelivered (bounded: the oldest counts are forgotten).
export const MAX_TRACKED_REDELIVERIES = 10_000

interface UnackedEntry {
  messageCount: number
  ackedBatchIndexes: Set<number>
}

export class UnackedEntries {
  /** In delivery order, which is index order between two rewinds. */
  private readonly entries = new Map<number, UnackedEntry>()
  private readonly redeliveries = new Map<number, number>()
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
    this.redeliveries.delete(index)
  }

  redeliveryCount (index: number): number {
    return this.redeliveries.get(index) ?? 0
  }

  /** Forgets every unacked batch (they will be read and delivered again) and counts the redelivery. */
  rewind (): void {
    for (const index of this.entries.keys()) {
      const count = (this.redeliveries.get(index) ?? 0) + 1
      this.redeliveries.delete(index)
      this.redeliveries.set(index, count)
      if (this.redeliveries.size > MAX_TRACKED_REDELIVERIES) this.redeliveries.delete(this.redeliveries.keys().next().value as number)
    }
    this.entries.clear()
    this.messages = 0
  }
}
