// The dead-letter topic of the `broker-dead-letter` scenario and its oracle. The Shared
// subscription's consumers follow the client's dead-letter policy (`deadLetterDue` of
// @blazar/client, on the broker's redeliveryCount as Pulsar's clients use
// MESSAGE.redelivery_count): a message they would negatively acknowledge is published to the
// dead-letter topic instead once its redeliveries are exhausted, then acknowledged. The
// simulator hosts one partition, so the dead-letter topic (another Raft group in a cluster) is
// this record of what was published to it, a topic whose sends always succeed. Checked:
//   never early     a message reaches it only from a delivery whose redeliveryCount is at least
//                   maxRedeliverCount (the broker's count itself is held to the pushes by the
//                   `queue-redelivery-count` oracle, so it was delivered more than that many times);
//   once per ack    a message reaches it again only when the acknowledgement that followed
//                   its earlier publish never took effect: the leader that delivered it again
//                   has no replicated acknowledgement of it. Pulsar's order (publish, then
//                   acknowledge) is at-least-once: an acknowledgement lost with a leadership
//                   change (or sent to a consumer already gone) redelivers the message, and the
//                   new leader's count starts at 0 and runs up to maxRedeliverCount again.
//                   Such duplicates are counted (`duplicates`);
//   complete        after healing every stored poison message is in it.
import { deadLetterDue } from '@blazar/client/dead-letter-policy'
import type { DeliveredEntry } from '@blazar/protocol'
import type { InvariantName } from './oracles.ts'
import type { QueueOracles, Report } from './queue-oracles.ts'
import { sendKey } from './queue-records.ts'

export interface SimDeadLetterPolicy {
  maxRedeliverCount: number
}

export class DeadLetterTopic {
  readonly policy: SimDeadLetterPolicy
  private readonly report: Report
  /** Batch index on the partition → who published it and the redelivery count it was delivered with. */
  private readonly published = new Map<number, { consumer: string, redeliveryCount: number }>()
  /** Publishes of a message already in the topic, after its acknowledgement was lost. */
  duplicates = 0

  constructor (policy: SimDeadLetterPolicy, report: Report) {
    this.policy = policy
    this.report = report
  }

  get size (): number {
    return this.published.size
  }

  /** The client's decision for a message the consumer would ask for again. */
  due (entry: DeliveredEntry): boolean {
    return deadLetterDue(entry.redeliveryCount, this.policy)
  }

  /**
   * A consumer of `subscription` published `entry` here; `acknowledgedInLog`: whether the
   * leader that delivered it holds a replicated acknowledgement of it.
   */
  publish (subscription: string, consumer: string, entry: DeliveredEntry, acknowledgedInLog: boolean): void {
    const index = entry.messageId.index
    if (!this.due(entry)) {
      this.report('queue-dead-letter', `${consumer} (${subscription}) dead-lettered 0:${index} delivered with redeliveryCount ${entry.redeliveryCount} < maxRedeliverCount ${this.policy.maxRedeliverCount}`)
    }
    const earlier = this.published.get(index)
    if (earlier !== undefined) {
      if (acknowledgedInLog) {
        this.report('queue-dead-letter', `${consumer} (${subscription}) dead-lettered 0:${index} (redeliveryCount ${entry.redeliveryCount}) a second time, though the delivering leader holds its acknowledgement; ${earlier.consumer} did at ${earlier.redeliveryCount}`)
      }
      this.duplicates++
      return
    }
    this.published.set(index, { consumer, redeliveryCount: entry.redeliveryCount })
  }

  /** After the recovery phase: every stored poison message is in the dead-letter topic. */
  finalCheck (oracles: QueueOracles): [InvariantName, string] | null {
    for (const index of oracles.storedIndexes) {
      const batch = oracles.loggedBatch(index)
      const send = batch === undefined || batch === null ? undefined : oracles.sends.get(sendKey(batch.producer, batch.firstSequenceId))
      if (send?.poison === true && !this.published.has(index)) {
        return ['queue-dead-letter', `the poison message ${send.key} stored at ${index} never reached the dead-letter topic`]
      }
    }
    return null
  }
}
