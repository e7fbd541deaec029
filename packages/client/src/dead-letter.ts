// Dead-letter and retry topics (Pulsar's DeadLetterPolicy and retryEnable). A message received
// after `maxRedeliverCount` redeliveries is held here; when it is asked for again (negative
// ack, ack timeout) it is published to the dead-letter topic instead and acknowledged on its
// own topic. `reconsumeLater` publishes a copy to the retry topic with a delivery delay (or to
// the dead-letter topic once RECONSUMETIMES passes maxRedeliverCount) and acknowledges the
// original. Copies carry the original topic and message ID in properties, as Pulsar's do.
// Owns the held messages (at most MAX_HELD_DEAD_LETTERS) and the two lazily created producers.
import { ORIGIN_MESSAGE_ID, REAL_TOPIC, type MessageId } from '@blazar/protocol'
import { deadLetterDue, type ResolvedDeadLetterPolicy } from './dead-letter-policy.ts'
import { messageKey, type Message } from './message.ts'
import type { Producer } from './producer.ts'

export { ORIGIN_MESSAGE_ID, REAL_TOPIC }
/** Pulsar's RetryMessageUtil property names (REAL_TOPIC and ORIGIN_MESSAGE_ID are @blazar/protocol's). */
export const RECONSUMETIMES = 'RECONSUMETIMES'
export const DELAY_TIME = 'DELAY_TIME'
/** Messages held for the dead-letter topic per consumer; the oldest are forgotten beyond it (and redelivered once more). */
export const MAX_HELD_DEAD_LETTERS = 100_000

export interface DeadLetterDeps {
  createProducer: (topic: string) => Promise<Producer>
  /** Creates `subscription` on `topic` (subscribe and close) if it does not exist. */
  createSubscription: (topic: string, subscription: string) => Promise<void>
}

export class DeadLetters {
  readonly policy: ResolvedDeadLetterPolicy
  private readonly deps: DeadLetterDeps
  private readonly held = new Map<string, Message>()
  private deadLetterProducer: Promise<Producer> | undefined
  private retryProducer: Promise<Producer> | undefined

  constructor (policy: ResolvedDeadLetterPolicy, deps: DeadLetterDeps) {
    this.policy = policy
    this.deps = deps
  }

  get heldCount (): number {
    return this.held.size
  }

  /** Whether a message delivered with this redelivery count goes to the dead-letter topic when redelivered. */
  exhausted (redeliveryCount: number): boolean {
    return deadLetterDue(redeliveryCount, this.policy)
  }

  hold (message: Message): void {
    const key = messageKey(message.messageId)
    this.held.delete(key)
    this.held.set(key, message)
    if (this.held.size > MAX_HELD_DEAD_LETTERS) this.held.delete(this.held.keys().next().value as string)
  }

  /** The held message for `id`, removed; undefined when it is not bound for the dead-letter topic. */
  take (id: MessageId): Message | undefined {
    const key = messageKey(id)
    const message = this.held.get(key)
    this.held.delete(key)
    return message
  }

  release (id: MessageId): void {
    this.held.delete(messageKey(id))
  }

  clear (): void {
    this.held.clear()
  }

  /** Publishes `message` to the dead-letter topic; resolves once it is committed there. */
  async deadLetter (message: Message): Promise<void> {
    const producer = await this.producerFor('dlq')
    await producer.send(copyOf(message, {}))
  }

  /**
   * Pulsar's reconsumeLater: a copy to the retry topic, delivered after `delayMs`, or to the
   * dead-letter topic once it was reconsumed more than maxRedeliverCount times.
   */
  async reconsumeLater (message: Message, delayMs: number): Promise<void> {
    const times = Number(message.properties[RECONSUMETIMES] ?? '0') + 1
    if (times > this.policy.maxRedeliverCount) {
      await this.deadLetter(message)
      return
    }
    const producer = await this.producerFor('retry')
    await producer.send({ ...copyOf(message, { [RECONSUMETIMES]: String(times), [DELAY_TIME]: String(delayMs) }), deliverAfterMs: delayMs })
  }

  async close (): Promise<void> {
    const producers = [this.deadLetterProducer, this.retryProducer].filter((p) => p !== undefined)
    await Promise.allSettled(producers.map(async (producer) => { await (await producer).close() }))
  }

  private producerFor (kind: 'dlq' | 'retry'): Promise<Producer> {
    const create = async (): Promise<Producer> => {
      if (kind === 'retry') return await this.deps.createProducer(this.policy.retryLetterTopic)
      const subscription = this.policy.initialSubscriptionName
      if (subscription !== undefined) await this.deps.createSubscription(this.policy.deadLetterTopic, subscription)
      return await this.deps.createProducer(this.policy.deadLetterTopic)
    }
    // A failed creation is forgotten, so that the next dead letter tries again.
    const retryOnFailure = (promise: Promise<Producer>): Promise<Producer> => promise.catch((error: unknown) => {
      if (kind === 'dlq') this.deadLetterProducer = undefined
      else this.retryProducer = undefined
      throw error
    })
    if (kind === 'dlq') {
      this.deadLetterProducer ??= retryOnFailure(create())
      return this.deadLetterProducer
    }
    this.retryProducer ??= retryOnFailure(create())
    return this.retryProducer
  }
}

/** The message as a new one, with the original topic and ID (kept from an earlier copy) and `extra` properties. */
function copyOf (message: Message, extra: Record<string, string>): { data: Uint8Array, key?: string, properties: Record<string, string>, eventTime?: number } {
  const properties = {
    ...message.properties,
    [REAL_TOPIC]: message.properties[REAL_TOPIC] ?? message.topic,
    [ORIGIN_MESSAGE_ID]: message.properties[ORIGIN_MESSAGE_ID] ?? message.messageId.toString(),
    ...extra
  }
  return {
    data: message.data, properties,
    ...(message.key === undefined ? {} : { key: message.key }),
    ...(message.eventTime > 0 ? { eventTime: message.eventTime } : {})
  }
}
