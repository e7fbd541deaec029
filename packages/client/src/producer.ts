// The Producer the application holds: one PartitionProducer for a non-partitioned topic, one
// per partition for a partitioned one (as Pulsar's client does), with messages routed by key
// hash or round robin. `send` resolves with the MessageId once the node has committed it.
import {
  InvalidArgumentError, MAX_KEY_LENGTH, MAX_PROPERTIES_PER_MESSAGE, MAX_PROPERTY_LENGTH, ProducerClosedError, type MessageId
} from '@blazar/protocol'
import type { OutgoingMessage, PartitionProducer } from './partition-producer.ts'
import type { MessageRouter } from './routing.ts'

export interface ProducerMessageInput {
  /** The payload; a string is sent as UTF-8. */
  data: Uint8Array | string
  key?: string
  /** Pulsar's ordering key: overrides `key` for Key_Shared ordering in Pulsar consumers. */
  orderingKey?: Uint8Array
  properties?: Record<string, string>
  /** Application time in ms since the epoch (Pulsar `eventTimestamp`). */
  eventTime?: number
  /** Pulsar `deliverAt`: dispatched to Shared and Key_Shared subscriptions no earlier than this time (ms since the epoch). */
  deliverAt?: number
  /** Pulsar `deliverAfter`: `deliverAt` = now + this (ms). */
  deliverAfterMs?: number
  /**
   * Pulsar `sequenceId`: this message's sequence id instead of the next one (a non-negative
   * integer, above every id this producer used before; later messages continue from it).
   */
  sequenceId?: number
}

const encoder = new TextEncoder()

export class Producer {
  private readonly topicName: string
  private readonly partitions: readonly PartitionProducer[]
  private readonly router: MessageRouter
  private readonly onClose: () => void
  private readonly now: () => number
  private closing: Promise<void> | undefined

  constructor (options: { topic: string, partitions: readonly PartitionProducer[], router: MessageRouter, onClose: () => void, now: () => number }) {
    this.topicName = options.topic
    this.partitions = options.partitions
    this.router = options.router
    this.onClose = options.onClose
    this.now = options.now
  }

  getTopic (): string {
    return this.topicName
  }

  /** The name the node assigned (or the one given); the same on every partition when given. */
  getProducerName (): string {
    return this.partitions[0].producerName
  }

  isConnected (): boolean {
    return this.closing === undefined && this.partitions.every((partition) => partition.connected)
  }

  send (input: ProducerMessageInput): Promise<MessageId> {
    if (this.closing !== undefined) return Promise.reject(new ProducerClosedError({ topic: this.topicName, producerName: this.getProducerName() }))
    let message: OutgoingMessage
    try {
      message = outgoing(input, this.now())
    } catch (error) {
      return Promise.reject(error)
    }
    const producer = this.partitions.length === 1 ? this.partitions[0] : this.partitions[this.router.partitionFor(message.key)]
    return producer.send(message)
  }

  /** Sends every open batch now; resolves once every message sent before the call has settled. */
  async flush (): Promise<void> {
    await Promise.all(this.partitions.map((partition) => partition.flush()))
  }

  /** Flushes, then closes the producer on the node. Idempotent. */
  close (): Promise<void> {
    this.closing ??= Promise.all(this.partitions.map((partition) => partition.close())).then(() => { this.onClose() })
    return this.closing
  }
}

function outgoing (input: ProducerMessageInput, now: number): OutgoingMessage {
  const payload = typeof input.data === 'string' ? encoder.encode(input.data) : input.data
  if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError({ argument: 'data', reason: 'must be a Uint8Array or a string' })
  if (input.key !== undefined && (typeof input.key !== 'string' || input.key.length > MAX_KEY_LENGTH)) {
    throw new InvalidArgumentError({ argument: 'key', reason: `must be a string of at most ${MAX_KEY_LENGTH} characters` })
  }
  if (input.orderingKey !== undefined && (!(input.orderingKey instanceof Uint8Array) || input.orderingKey.length > MAX_KEY_LENGTH)) {
    throw new InvalidArgumentError({ argument: 'orderingKey', reason: `must be a Uint8Array of at most ${MAX_KEY_LENGTH} bytes` })
  }
  const eventTime = input.eventTime ?? 0
  if (!Number.isSafeInteger(eventTime) || eventTime < 0) throw new InvalidArgumentError({ argument: 'eventTime', reason: 'must be a non-negative integer (ms)' })
  const properties = { ...input.properties }
  const entries = Object.entries(properties)
  if (entries.length > MAX_PROPERTIES_PER_MESSAGE) {
    throw new InvalidArgumentError({ argument: 'properties', reason: `more than ${MAX_PROPERTIES_PER_MESSAGE} entries` })
  }
  for (const [name, value] of entries) {
    if (typeof value !== 'string' || name.length > MAX_PROPERTY_LENGTH || value.length > MAX_PROPERTY_LENGTH) {
      throw new InvalidArgumentError({ argument: `properties.${name.slice(0, 64)}`, reason: `must be a string; names and values at most ${MAX_PROPERTY_LENGTH} characters` })
    }
  }
  // Checked per message so that one bad message never fails the batch it would have joined.
  const message: OutgoingMessage = { payload, properties, eventTime }
  if (input.sequenceId !== undefined) {
    if (!Number.isSafeInteger(input.sequenceId) || input.sequenceId < 0) throw new InvalidArgumentError({ argument: 'sequenceId', reason: 'must be a non-negative integer' })
    message.sequenceId = input.sequenceId
  }
  if (input.key !== undefined) message.key = input.key
  if (input.orderingKey !== undefined) message.orderingKey = input.orderingKey
  const deliverAtTime = deliveryTime(input, now)
  if (deliverAtTime !== undefined) message.deliverAtTime = deliverAtTime
  return message
}

function deliveryTime (input: ProducerMessageInput, now: number): number | undefined {
  if (input.deliverAt !== undefined && input.deliverAfterMs !== undefined) {
    throw new InvalidArgumentError({ argument: 'deliverAt', reason: 'give deliverAt or deliverAfterMs, not both' })
  }
  for (const [argument, value] of [['deliverAt', input.deliverAt], ['deliverAfterMs', input.deliverAfterMs]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new InvalidArgumentError({ argument, reason: 'must be a non-negative integer (ms)' })
  }
  if (input.deliverAt !== undefined) return input.deliverAt
  return input.deliverAfterMs === undefined ? undefined : now + input.deliverAfterMs
}
