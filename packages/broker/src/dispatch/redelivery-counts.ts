// How often each batch of a subscription was redelivered (Pulsar tracks and sends the count;
// the client's dead-letter policy uses it). Bounded: the oldest counts are forgotten first.
export const MAX_TRACKED_REDELIVERIES = 10_000

export class RedeliveryCounts {
  private readonly counts = new Map<number, number>()

  get (index: number): number {
    return this.counts.get(index) ?? 0
  }

  increment (index: number): void {
    const count = this.get(index) + 1
    this.counts.delete(index)
    this.counts.set(index, count)
    if (this.counts.size > MAX_TRACKED_REDELIVERIES) this.counts.delete(this.counts.keys().next().value as number)
  }

  /** The batch was acknowledged: its count is no longer needed. */
  forget (index: number): void {
    this.counts.delete(index)
  }
}
