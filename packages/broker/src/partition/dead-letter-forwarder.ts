// The partition leader's dead-letter forwarder: publishes the replicated outbox's entries
// (dead-letter-outbox.ts) to their dead-letter topics through the host's DeadLetterSink, in
// position order, one producer per (origin partition, subscription) whose sequence id is the
// outbox position, and once the sink confirmed entries proposes `deadLetterForwarded` so they
// leave the outbox. A new leader starts again from the first entry still in the outbox; the
// dead-letter topic's deduplication (sequence id <= the producer's last stored one) drops what
// an earlier leader already stored, so each dead letter is stored there once. Failed or
// unanswered publishes are retried on the Env clock with a capped backoff, one publish in
// flight per subscription. Nothing here is replicated state: the outbox is.
import type { Env, TimerHandle } from '@blazar/env'
import { MessageId, ORIGIN_MESSAGE_ID, REAL_TOPIC, decodeBatch, type CompressionCodecs, type PartitionEntry } from '@blazar/protocol'
import type { OutboxEntry } from './dead-letter-outbox.ts'
import type { PartitionStateMachine } from './partition-state-machine.ts'

/** One dead letter as the sink publishes it: a new message on `topic` from producer `producerName` with `sequenceId`. */
export interface DeadLetterRecord {
  topic: string
  producerName: string
  sequenceId: number
  payload: Uint8Array
  /** The original's properties plus REAL_TOPIC and ORIGIN_MESSAGE_ID (Pulsar's). */
  properties: Record<string, string>
  key?: string
  eventTime?: number
}

/**
 * How the forwarder reaches dead-letter topics (the node publishes through its routing to the
 * topic's leader; the simulator keeps a simulated topic). `publish` resolves once the topic
 * stored the message or answered it as a duplicate of one stored (its producer's sequence id
 * at or below the last stored one: the topic must deduplicate these producers); a rejection
 * or no answer is retried with the same sequence id.
 */
export interface DeadLetterSink {
  publish: (record: DeadLetterRecord) => Promise<void>
}

export interface DeadLetterForwarderLimits {
  /** A publish not answered by then counts as failed (and is sent again). */
  publishTimeoutMs: number
  /** First retry delay; doubled per failure up to `maxRetryDelayMs`. */
  retryDelayMs: number
  maxRetryDelayMs: number
  /** Confirmed entries trimmed by one `deadLetterForwarded` entry at most (the rest by the next). */
  maxForwardedPerEntry: number
}

export const DEFAULT_DEAD_LETTER_FORWARDER_LIMITS: DeadLetterForwarderLimits = {
  publishTimeoutMs: 10_000,
  retryDelayMs: 100,
  maxRetryDelayMs: 5_000,
  maxForwardedPerEntry: 100
}

/** The forwarder's producer on the dead-letter topic, one per origin partition and subscription. */
export function deadLetterProducerName (topic: string, subscription: string): string {
  return `dlq:${subscription}@${topic}`
}

export interface DeadLetterForwarderOptions {
  env: Env
  sm: PartitionStateMachine
  sink: DeadLetterSink
  codecs: CompressionCodecs
  /** Proposes a partition entry through Raft; resolves once applied here. */
  propose: (entry: PartitionEntry) => Promise<unknown>
  limits?: Partial<DeadLetterForwarderLimits>
}

class PublishTimeoutError extends Error {
  constructor (ms: number) {
    super(`dead-letter publish not answered in ${ms} ms`)
    this.name = 'PublishTimeoutError'
  }
}

export class DeadLetterForwarder {
  private readonly options: DeadLetterForwarderOptions
  private readonly limits: DeadLetterForwarderLimits
  /** Bumped on every start and stop: a loop of an earlier term stops at its next step. */
  private term = 0
  private leading = false
  /** Subscriptions whose loop runs in this term. */
  private readonly running = new Set<string>()
  private readonly timers = new Set<TimerHandle>()

  constructor (options: DeadLetterForwarderOptions) {
    this.options = options
    this.limits = { ...DEFAULT_DEAD_LETTER_FORWARDER_LIMITS, ...options.limits }
    options.sm.onDeadLetter((entries) => {
      if (!this.leading) return
      for (const subscription of new Set(entries.map((entry) => entry.subscription))) this.forward(subscription)
    })
  }

  /** This node leads now: forward every outbox from its first entry. */
  start (): void {
    this.stop()
    this.leading = true
    for (const subscription of this.options.sm.deadLetterSubscriptions()) this.forward(subscription)
  }

  stop (): void {
    this.leading = false
    this.term++
    this.running.clear()
    for (const timer of this.timers) this.options.env.clock.clearTimer(timer)
    this.timers.clear()
  }

  private forward (subscription: string): void {
    if (this.running.has(subscription)) return
    this.running.add(subscription)
    const term = this.term
    this.run(subscription, term).catch((error: unknown) => {
      this.options.env.logger.warn('dead-letter forwarder stopped', { topic: this.options.sm.topic, subscription, error: String(error) })
      if (this.term === term) this.running.delete(subscription)
    })
  }

  /** Publishes the subscription's outbox in order and trims what the sink confirmed, until it is empty or the term ends. */
  private async run (subscription: string, term: number): Promise<void> {
    let failures = 0
    const current = (): boolean => this.term === term
    // Confirmed by the sink in this term, not yet trimmed by a committed deadLetterForwarded entry.
    let confirmedUpTo = 0
    while (current()) {
      const pending = this.options.sm.deadLetterOutbox(subscription)
      if (pending.length === 0) {
        // Synchronously: an entry applied from here on starts a new loop.
        this.running.delete(subscription)
        return
      }
      const next = pending.find((entry) => entry.position > confirmedUpTo)
      const confirmed = pending.filter((entry) => entry.position <= confirmedUpTo).length
      try {
        if (next !== undefined && confirmed < this.limits.maxForwardedPerEntry) {
          await this.publish(next)
          confirmedUpTo = next.position
        } else {
          await this.options.propose({ kind: 'deadLetterForwarded', body: { subscription, upTo: confirmedUpTo } })
        }
        failures = 0
      } catch (error) {
        if (!current()) return
        failures++
        const delay = Math.min(this.limits.maxRetryDelayMs, this.limits.retryDelayMs * 2 ** Math.min(failures - 1, 30))
        this.options.env.logger.debug('dead-letter forwarding failed, retrying', { topic: this.options.sm.topic, subscription, delay, error: String(error) })
        await this.sleep(delay)
      }
    }
  }

  private async publish (entry: OutboxEntry): Promise<void> {
    const { sm } = this.options
    const [batch] = await sm.read(entry.index, { maxEntries: 1, maxBytes: 1 })
    if (batch?.index !== entry.index) throw new Error(`dead letter ${entry.index} is not in the log`)
    const message = decodeBatch(batch.envelope, this.options.codecs)[entry.batchIndex]
    const record: DeadLetterRecord = {
      topic: entry.deadLetterTopic,
      producerName: deadLetterProducerName(sm.topic, entry.subscription),
      sequenceId: entry.position,
      payload: message.payload,
      properties: {
        ...message.properties,
        [REAL_TOPIC]: message.properties[REAL_TOPIC] ?? sm.topic,
        [ORIGIN_MESSAGE_ID]: message.properties[ORIGIN_MESSAGE_ID] ?? new MessageId(sm.partition, entry.index, entry.batchIndex).toString()
      },
      ...(message.key === undefined ? {} : { key: message.key }),
      ...(message.eventTime > 0 ? { eventTime: message.eventTime } : {})
    }
    await this.withTimeout(this.options.sink.publish(record))
  }

  private withTimeout (publish: Promise<void>): Promise<void> {
    const ms = this.limits.publishTimeoutMs
    return new Promise<void>((resolve, reject) => {
      const timer = this.options.env.clock.setTimer(ms, () => {
        this.timers.delete(timer)
        reject(new PublishTimeoutError(ms))
      })
      this.timers.add(timer)
      publish.then((value) => {
        this.timers.delete(timer)
        this.options.env.clock.clearTimer(timer)
        resolve(value)
      }, (error: unknown) => {
        this.timers.delete(timer)
        this.options.env.clock.clearTimer(timer)
        reject(error)
      })
    })
  }

  private sleep (ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.options.env.clock.setTimer(ms, () => {
        this.timers.delete(timer)
        resolve()
      })
      this.timers.add(timer)
    })
  }
}
