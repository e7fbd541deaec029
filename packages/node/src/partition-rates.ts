// Message rates of one hosted partition over the sliding window (RateTracker on the Env
// clock): in (every applied batch, so a follower that becomes leader already has them), per
// producer name, out and redelivered (what this node's leader dispatched, per consumer). Also
// the out counters since this node last became the partition's leader. The maps are bounded:
// idle producers and consumers are dropped when read or when the cap is reached.
import { RateTracker, type StoredBatch } from '@blazar/broker'
import type { Clock } from '@blazar/env'
import type { DeliveredEntry } from '@blazar/protocol'

/** Producers and consumers one partition keeps rates for. */
export const MAX_RATE_ENTITIES = 10_000

export interface ConsumerRates {
  msgRateOut: number
  msgThroughputOut: number
  msgRateRedeliver: number
}

export class PartitionRates {
  readonly in: RateTracker
  readonly out: RateTracker
  readonly redeliver: RateTracker
  messagesOut = 0
  bytesOut = 0
  private readonly clock: Clock
  private readonly producers = new Map<string, RateTracker>()
  private readonly consumers = new Map<number, { out: RateTracker, redeliver: RateTracker }>()

  constructor (clock: Clock) {
    this.clock = clock
    this.in = new RateTracker(clock)
    this.out = new RateTracker(clock)
    this.redeliver = new RateTracker(clock)
  }

  published (batch: StoredBatch): void {
    const bytes = batch.envelope.body.length
    this.in.record(batch.envelope.messageCount, bytes)
    let producer = this.producers.get(batch.envelope.producerName)
    if (producer === undefined) {
      if (this.producers.size >= MAX_RATE_ENTITIES) dropIdle(this.producers, (tracker) => tracker.idle())
      if (this.producers.size >= MAX_RATE_ENTITIES) return
      producer = new RateTracker(this.clock)
      this.producers.set(batch.envelope.producerName, producer)
    }
    producer.record(batch.envelope.messageCount, bytes)
  }

  delivered (consumerId: number, entries: readonly DeliveredEntry[]): void {
    let consumer = this.consumers.get(consumerId)
    if (consumer === undefined) {
      if (this.consumers.size >= MAX_RATE_ENTITIES) dropIdle(this.consumers, (rates) => rates.out.idle())
      consumer = { out: new RateTracker(this.clock), redeliver: new RateTracker(this.clock) }
      if (this.consumers.size < MAX_RATE_ENTITIES) this.consumers.set(consumerId, consumer)
    }
    for (const entry of entries) {
      const messages = entry.batch.messageCount
      const bytes = entry.batch.body.length
      this.messagesOut += messages
      this.bytesOut += bytes
      this.out.record(messages, bytes)
      consumer.out.record(messages, bytes)
      if (entry.redeliveryCount > 0) {
        this.redeliver.record(messages, bytes)
        consumer.redeliver.record(messages, bytes)
      }
    }
  }

  /** Producers that published within the window, with their rates. */
  publishers (): Array<{ producerName: string, msgRateIn: number, msgThroughputIn: number }> {
    dropIdle(this.producers, (tracker) => tracker.idle())
    return [...this.producers].map(([producerName, tracker]) => {
      const rates = tracker.rates()
      return { producerName, msgRateIn: rates.msgRate, msgThroughputIn: rates.byteRate }
    })
  }

  consumer (consumerId: number): ConsumerRates {
    const rates = this.consumers.get(consumerId)
    if (rates === undefined) return { msgRateOut: 0, msgThroughputOut: 0, msgRateRedeliver: 0 }
    const out = rates.out.rates()
    return { msgRateOut: out.msgRate, msgThroughputOut: out.byteRate, msgRateRedeliver: rates.redeliver.rates().msgRate }
  }

  /** The consumer left: its rates are no longer reported. */
  forgetConsumer (consumerId: number): void {
    this.consumers.delete(consumerId)
  }
}

function dropIdle<K, V> (map: Map<K, V>, idle: (value: V) => boolean): void {
  for (const [key, value] of map) if (idle(value)) map.delete(key)
}
