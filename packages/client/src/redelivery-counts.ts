// How often this consumer asked for each message again (negative acks, ack timeouts). The
// node's count (`redeliveryCount` on a delivered batch) lives in the leader's dispatcher and
// restarts at 0 on a new leader; the count the dead-letter policy goes by is the larger of the
// two, so a leader change cannot keep a poison message cycling forever. Once the broker
// replicates its count (issue 12, branch h-broker), `effective` is the broker's count alone
// and this file goes. At most MAX_TRACKED_REDELIVERIES are kept (the oldest are forgotten).
import type { MessageId } from '@blazar/protocol'
import { messageKey } from './message.ts'

export const MAX_TRACKED_REDELIVERIES = 100_000

export class RedeliveryCounts {
  private readonly counts = new Map<string, number>()

  get size (): number {
    return this.counts.size
  }

  /** The consumer asks for `id` again. */
  increment (id: MessageId): void {
    const key = messageKey(id)
    const count = (this.counts.get(key) ?? 0) + 1
    this.counts.delete(key)
    this.counts.set(key, count)
    if (this.counts.size > MAX_TRACKED_REDELIVERIES) this.counts.delete(this.counts.keys().next().value as string)
  }

  /** The redelivery count to act on: the larger of the broker's and this consumer's. */
  effective (id: MessageId, brokerCount: number): number {
    return Math.max(brokerCount, this.counts.get(messageKey(id)) ?? 0)
  }

  forget (id: MessageId): void {
    this.counts.delete(messageKey(id))
  }

  clear (): void {
    this.counts.clear()
  }
}
