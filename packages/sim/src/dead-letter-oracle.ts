// The dead-letter topic of the `broker-dead-letter` scenario and its oracle. The Shared
// subscription's consumers follow the client's dead-letter policy (`deadLetterDue` of
// @blazar/client, on the broker's redeliveryCount as Pulsar's clients use
// MESSAGE.redelivery_count): a message they would negatively acknowledge is handed to the
// broker instead once its redeliveries are exhausted (`PartitionReplica.deadLetter`: one
// replicated entry acknowledges it and puts it in the partition's dead-letter outbox), and the
// partition leader's forwarder publishes it here. The simulator hosts one partition, so the
// dead-letter topic (another Raft group in a cluster) is this simulated topic: the broker's
// DeadLetterSink with Pulsar's deduplication (a producer's sequence id at or below its last
// stored one is answered as a duplicate and not stored), which refuses a share of publishes,
// stores some without answering (the answer lost) and leaves some unanswered, after a delay,
// so the forwarder's resends and a new leader's restart from the outbox are exercised. Checked:
//   never early     a consumer asks for a dead letter only from a delivery whose redeliveryCount
//                   is at least maxRedeliverCount (the count itself is held to the pushes by
//                   `queue-redelivery-count`), and a message stored here was asked for;
//   exactly once    no message (by ORIGIN_MESSAGE_ID) is stored here twice;
//   faithful        a stored dead letter is the original's payload, with REAL_TOPIC the
//                   partition, on the subscription's default dead-letter topic;
//   complete        after healing every stored poison message is here.
import { deadLetterDue } from '@blazar/client/dead-letter-policy'
import type { DeadLetterRecord, DeadLetterSink } from '@blazar/broker'
import type { Random, VirtualClock } from '@blazar/env'
import { MessageId, ORIGIN_MESSAGE_ID, REAL_TOPIC, defaultDeadLetterTopic, type DeliveredEntry } from '@blazar/protocol'
import type { InvariantName } from './oracles.ts'
import type { QueueOracles, Report } from './queue-oracles.ts'
import { sendKey } from './queue-records.ts'

export interface SimDeadLetterPolicy {
  maxRedeliverCount: number
}

/** How the simulated dead-letter topic misbehaves: shares of publishes refused, stored with the answer lost, never answered. */
export interface DeadLetterTopicFaults {
  refuseRatio: number
  loseAnswerRatio: number
  noAnswerRatio: number
  /** Answer delay, uniform in [min, max) virtual ms. */
  delayMs: [number, number]
}

export const DEFAULT_DEAD_LETTER_TOPIC_FAULTS: DeadLetterTopicFaults = { refuseRatio: 0.1, loseAnswerRatio: 0.1, noAnswerRatio: 0.05, delayMs: [1, 20] }

/** A publish the simulated topic failed on purpose: refused (nothing stored), or stored with its answer lost. */
export class DeadLetterTopicFaultError extends Error {
  static readonly code = 'DEAD_LETTER_TOPIC_FAULT'
  readonly code = DeadLetterTopicFaultError.code
  readonly stored: boolean
  constructor (stored: boolean) {
    super(stored ? 'the dead-letter publish was stored, its answer lost' : 'the dead-letter topic refused the publish')
    this.name = 'DeadLetterTopicFaultError'
    this.stored = stored
  }
}

export interface DeadLetterTopicOptions {
  policy: SimDeadLetterPolicy
  report: Report
  clock: VirtualClock
  random: Random
  record: (line: string) => void
  /** The partition the dead letters come from (REAL_TOPIC). */
  originTopic: string
  faults?: DeadLetterTopicFaults
}

export class DeadLetterTopic implements DeadLetterSink {
  readonly policy: SimDeadLetterPolicy
  private readonly options: DeadLetterTopicOptions
  private readonly faults: DeadLetterTopicFaults
  /** Per (topic, producer): the last stored sequence id (Pulsar's deduplication). */
  private readonly lastSequenceIds = new Map<string, number>()
  /** Origin batch index → the message stored for it. */
  private readonly stored = new Map<number, { producerName: string, sequenceId: number }>()
  /** Origin batch index → the stored dead letter's payload, and every topic one went to. */
  private readonly payloads = new Map<number, string>()
  private readonly topics = new Set<string>()
  /** Origin batch indexes a consumer asked to dead-letter (from a due delivery). */
  private readonly requested = new Set<number>()
  /** Publishes answered as duplicates (resends the deduplication dropped). */
  duplicates = 0

  constructor (options: DeadLetterTopicOptions) {
    this.options = options
    this.policy = options.policy
    this.faults = options.faults ?? DEFAULT_DEAD_LETTER_TOPIC_FAULTS
  }

  get size (): number {
    return this.stored.size
  }

  /** The client's decision for a message the consumer would ask for again. */
  due (entry: DeliveredEntry): boolean {
    return deadLetterDue(entry.redeliveryCount, this.policy)
  }

  /** A consumer of `subscription` asks the broker to dead-letter `entry`. */
  requestedBy (subscription: string, consumer: string, entry: DeliveredEntry): void {
    const index = entry.messageId.index
    if (!this.due(entry)) {
      this.options.report('queue-dead-letter', `${consumer} (${subscription}) dead-lettered 0:${index} delivered with redeliveryCount ${entry.redeliveryCount} < maxRedeliverCount ${this.policy.maxRedeliverCount}`)
    }
    this.requested.add(index)
  }

  /** The broker's sink: Pulsar's deduplication, and the faults. */
  publish (record: DeadLetterRecord): Promise<void> {
    const { clock, random } = this.options
    const [min, max] = this.faults.delayMs
    const delay = random.int(min, max)
    const draw = random.next()
    return new Promise<void>((resolve, reject) => {
      clock.setTimer(delay, () => {
        if (draw < this.faults.refuseRatio) {
          this.options.record(`dlq ${record.producerName}#${record.sequenceId} refused`)
          reject(new DeadLetterTopicFaultError(false))
          return
        }
        this.store(record)
        if (draw < this.faults.refuseRatio + this.faults.loseAnswerRatio) reject(new DeadLetterTopicFaultError(true))
        else if (draw >= this.faults.refuseRatio + this.faults.loseAnswerRatio + this.faults.noAnswerRatio) resolve()
      })
    })
  }

  private store (record: DeadLetterRecord): void {
    const producer = `${record.topic} ${record.producerName}`
    const last = this.lastSequenceIds.get(producer) ?? -1
    if (record.sequenceId <= last) {
      this.duplicates++
      this.options.record(`dlq ${record.producerName}#${record.sequenceId} duplicate (last ${last})`)
      return
    }
    this.lastSequenceIds.set(producer, record.sequenceId)
    const origin = record.properties[ORIGIN_MESSAGE_ID]
    let index: number
    try {
      index = MessageId.fromString(origin ?? '').index
    } catch {
      this.options.report('queue-dead-letter', `dead letter ${record.producerName}#${record.sequenceId} has no ORIGIN_MESSAGE_ID (${String(origin)})`)
      return
    }
    this.options.record(`dlq ${record.producerName}#${record.sequenceId} stored 0:${index}`)
    const earlier = this.stored.get(index)
    if (earlier !== undefined) {
      this.options.report('queue-dead-letter', `0:${index} reached the dead-letter topic twice: ${earlier.producerName}#${earlier.sequenceId}, then ${record.producerName}#${record.sequenceId}`)
      return
    }
    this.stored.set(index, { producerName: record.producerName, sequenceId: record.sequenceId })
    if (!this.requested.has(index)) this.options.report('queue-dead-letter', `0:${index} reached the dead-letter topic though no consumer asked for it`)
    if (record.properties[REAL_TOPIC] !== this.options.originTopic) {
      this.options.report('queue-dead-letter', `dead letter 0:${index} says REAL_TOPIC ${String(record.properties[REAL_TOPIC])}, not ${this.options.originTopic}`)
    }
    // Judged at the end, against the logged batch (`finalCheck`).
    this.payloads.set(index, new TextDecoder().decode(record.payload))
    this.topics.add(record.topic)
  }

  /** After the recovery phase: every stored poison message is here, with its own payload, on the subscription's default topic. */
  finalCheck (oracles: QueueOracles, subscription: string): [InvariantName, string] | null {
    const expectedTopic = defaultDeadLetterTopic(this.options.originTopic, subscription)
    for (const topic of this.topics) {
      if (topic !== expectedTopic) return ['queue-dead-letter', `a dead letter went to ${topic}, not ${expectedTopic}`]
    }
    for (const index of oracles.storedIndexes) {
      const batch = oracles.loggedBatch(index)
      const send = batch === undefined || batch === null ? undefined : oracles.sends.get(sendKey(batch.producer, batch.firstSequenceId))
      if (send === undefined || batch === undefined || batch === null) continue
      const payload = this.payloads.get(index)
      if (payload !== undefined && payload !== `${batch.producer}.${batch.firstSequenceId}`) {
        return ['queue-dead-letter', `the dead letter of 0:${index} has payload ${JSON.stringify(payload)}, not ${batch.producer}.${batch.firstSequenceId}`]
      }
      if (send.poison === true && !this.stored.has(index)) {
        return ['queue-dead-letter', `the poison message ${send.key} stored at ${index} never reached the dead-letter topic`]
      }
    }
    return null
  }
}
