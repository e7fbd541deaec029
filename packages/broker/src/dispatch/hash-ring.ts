// The consistent-hashing ring of a Key_Shared subscription (Pulsar's AUTO_SPLIT mode with
// `subscriptionKeySharedUseConsistentHashing`): each consumer owns `POINTS_PER_CONSUMER` points,
// a key hash belongs to the consumer of the first point at or after it (wrapping around), so a
// consumer joining or leaving moves only the hashes next to its points.
import { keyHash } from '@blazar/protocol'

/** Pulsar `subscriptionKeySharedConsistentHashingReplicaPoints`. */
export const POINTS_PER_CONSUMER = 100

/** Hash of batches without a key (Pulsar routes them under the key `NONE_KEY`). */
export const NONE_KEY_HASH = keyHash('NONE_KEY')

export class HashRing {
  private points: Array<{ point: number, consumerId: number }> = []

  /** Rebuilds the ring for `consumers` (id and name; the id keeps same-named consumers apart). */
  rebuild (consumers: ReadonlyArray<{ consumerId: number, consumerName: string }>): void {
    const points: Array<{ point: number, consumerId: number }> = []
    for (const consumer of consumers) {
      for (let i = 0; i < POINTS_PER_CONSUMER; i++) points.push({ point: keyHash(`${consumer.consumerName}#${consumer.consumerId}#${i}`), consumerId: consumer.consumerId })
    }
    points.sort((a, b) => a.point - b.point || a.consumerId - b.consumerId)
    this.points = points
  }

  /** The consumer owning `hash`, or undefined when the ring is empty. */
  owner (hash: number): number | undefined {
    if (this.points.length === 0) return undefined
    let lo = 0
    let hi = this.points.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.points[mid].point < hash) lo = mid + 1
      else hi = mid
    }
    return this.points[lo === this.points.length ? 0 : lo].consumerId
  }
}
