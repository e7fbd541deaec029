// The Client: one transport (an ephemeral libp2p identity unless one is given), one
// connection pool, and every producer and consumer created from it. It routes server pushes
// to the producer or consumer they name and tells them when their connection is lost.
import {
  CompressionCodecs, InvalidArgumentError, NON_PARTITIONED, PRODUCER_ACCESS_MODES, PULSAR_DEFAULTS, SUBSCRIPTION_TYPES,
  INITIAL_POSITIONS, parseTopicName, partitionTopicName, validateEntityName, type ServerPush
} from '@blazar/protocol'
import { Transport } from '@blazar/transport'
import { Admin } from './admin.ts'
import { ConnectionPool } from './connection-pool.ts'
import { Consumer } from './consumer.ts'
import type { ClientContext } from './context.ts'
import { ClientClosedError } from './errors.ts'
import { TopicLookup } from './lookup.ts'
import { NegativeAcks } from './negative-acks.ts'
import {
  DEFAULT_MAX_PENDING_MESSAGES, DEFAULT_OPERATION_TIMEOUT_MS, batchLimits, positiveInteger,
  receiverQueueSizeFor, serviceUrls, type ClientOptions, type ConsumerOptions, type ProducerOptions
} from './options.ts'
import { PartitionConsumer } from './partition-consumer.ts'
import { PartitionProducer, type ProducerSettings } from './partition-producer.ts'
import { Producer } from './producer.ts'
import { ReceiverQueue } from './receiver-queue.ts'
import { MESSAGE_ROUTING_MODES, MessageRouter } from './routing.ts'
import { realTimers } from './timers.ts'
import { lz4Codec } from './lz4-codec.ts'
import { snappyCodec } from './snappy-codec.ts'
import { zlibCodec } from './zlib-codec.ts'
import { zstdCodec } from './zstd-codec.ts'

export class Client {
  readonly admin: Admin
  private readonly context: ClientContext
  private readonly transport: Transport
  private readonly ownsTransport: boolean
  private readonly closeController: AbortController
  private readonly producers = new Map<number, PartitionProducer>()
  private readonly consumers = new Map<number, PartitionConsumer>()
  private readonly openProducers = new Set<Producer>()
  private readonly openConsumers = new Set<Consumer>()
  private closing: Promise<void> | undefined

  private constructor (init: { context: ClientContext, transport: Transport, ownsTransport: boolean, closeController: AbortController }) {
    this.context = init.context
    this.transport = init.transport
    this.ownsTransport = init.ownsTransport
    this.closeController = init.closeController
    this.admin = new Admin(this.context)
  }

  /** Starts a transport and connects to the service URL's nodes (at least one must answer). */
  static async create (options: ClientOptions = {}): Promise<Client> {
    const bootstrap = serviceUrls(options.serviceUrl)
    const operationTimeoutMs = positiveInteger('operationTimeoutMs', options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS)
    const timers = options.timers ?? realTimers
    const transport = options.transport ?? await Transport.start({ settings: options.transportSettings, listen: [] })
    const closeController = new AbortController()
    let client: Client | undefined
    const pool = new ConnectionPool({
      transport, bootstrap, timers,
      onPush: (peer, push) => { client?.dispatch(peer, push) },
      onConnectionLost: (peer) => { client?.connectionLost(peer) }
    })
    let handles = 0
    const context: ClientContext = {
      pool,
      lookup: new TopicLookup(pool),
      timers,
      codecs: new CompressionCodecs([zlibCodec, lz4Codec, zstdCodec, snappyCodec, ...(options.compressionCodecs ?? [])]),
      operationTimeoutMs,
      nextHandle: () => handles++ % 0x1_0000_0000,
      closed: closeController.signal
    }
    client = new Client({ context, transport, ownsTransport: options.transport === undefined, closeController })
    try {
      await pool.start()
    } catch (error) {
      await client.close()
      throw error
    }
    return client
  }

  /** PeerIds of the nodes this client is connected to. */
  connectedNodes (): string[] {
    return this.context.pool.peers()
  }

  async createProducer (options: ProducerOptions): Promise<Producer> {
    this.checkOpen('createProducer')
    const limits = batchLimits(options)
    const accessMode = options.accessMode ?? 'Shared'
    if (!PRODUCER_ACCESS_MODES.includes(accessMode)) throw new InvalidArgumentError({ argument: 'accessMode', reason: `one of ${PRODUCER_ACCESS_MODES.join(', ')}` })
    const routingMode = options.messageRoutingMode ?? 'RoundRobinDistribution'
    if (!MESSAGE_ROUTING_MODES.includes(routingMode)) throw new InvalidArgumentError({ argument: 'messageRoutingMode', reason: `one of ${MESSAGE_ROUTING_MODES.join(', ')}` })
    if (options.producerName !== undefined) validateEntityName('producer', options.producerName)
    const settings: ProducerSettings = {
      sendTimeoutMs: positiveInteger('sendTimeoutMs', options.sendTimeoutMs ?? PULSAR_DEFAULTS.sendTimeoutMs, Number.MAX_SAFE_INTEGER, 0),
      batchingEnabled: options.batchingEnabled ?? PULSAR_DEFAULTS.batchingEnabled,
      batchingMaxMessages: limits.maxMessages,
      batchingMaxBytes: limits.maxBytes,
      batchingMaxPublishDelayMs: limits.delayMs,
      maxPendingMessages: positiveInteger('maxPendingMessages', options.maxPendingMessages ?? DEFAULT_MAX_PENDING_MESSAGES),
      compressionType: options.compressionType ?? PULSAR_DEFAULTS.compressionType,
      accessMode
    }
    this.context.codecs.get(settings.compressionType)
    const { topic, partitions } = await this.partitionsOf(options.topic)
    const producers = partitions.map((partition) => new PartitionProducer({
      context: this.context, settings, lookupTopic: topic, partition,
      topic: partition === NON_PARTITIONED ? topic : partitionTopicName(topic, partition),
      ...(options.producerName === undefined ? {} : { producerName: options.producerName })
    }))
    for (const producer of producers) this.producers.set(producer.producerId, producer)
    const forget = () => { for (const producer of producers) this.producers.delete(producer.producerId) }
    try {
      await Promise.all(producers.map((producer) => producer.attach()))
    } catch (error) {
      await Promise.all(producers.map((producer) => producer.close().catch(() => {})))
      forget()
      throw error
    }
    const producer: Producer = new Producer({
      topic, partitions: producers, router: new MessageRouter(producers.length, routingMode),
      onClose: () => { forget(); this.openProducers.delete(producer) }
    })
    this.openProducers.add(producer)
    return producer
  }

  async subscribe (options: ConsumerOptions): Promise<Consumer> {
    this.checkOpen('subscribe')
    validateEntityName('subscription', options.subscription)
    if (options.consumerName !== undefined) validateEntityName('consumer', options.consumerName)
    const subscriptionType = options.subscriptionType ?? PULSAR_DEFAULTS.subscriptionType
    if (!SUBSCRIPTION_TYPES.includes(subscriptionType)) throw new InvalidArgumentError({ argument: 'subscriptionType', reason: `one of ${SUBSCRIPTION_TYPES.join(', ')}` })
    const initialPosition = options.subscriptionInitialPosition ?? PULSAR_DEFAULTS.subscriptionInitialPosition
    if (!INITIAL_POSITIONS.includes(initialPosition)) throw new InvalidArgumentError({ argument: 'subscriptionInitialPosition', reason: `one of ${INITIAL_POSITIONS.join(', ')}` })
    const nackDelayMs = positiveInteger('negativeAckRedeliveryDelayMs', options.negativeAckRedeliveryDelayMs ?? PULSAR_DEFAULTS.negativeAckRedeliveryDelayMs, Number.MAX_SAFE_INTEGER, 0)
    const { topic, partitions } = await this.partitionsOf(options.topic)
    const receiverQueueSize = receiverQueueSizeFor(options, partitions.length)
    const queue = new ReceiverQueue(receiverQueueSize * partitions.length, this.context.timers)
    const settings = {
      subscription: options.subscription, subscriptionType, initialPosition, receiverQueueSize,
      ...(options.consumerName === undefined ? {} : { consumerName: options.consumerName })
    }
    const members = partitions.map((partition) => new PartitionConsumer({
      context: this.context, settings, lookupTopic: topic, partition, queue,
      topic: partition === NON_PARTITIONED ? topic : partitionTopicName(topic, partition)
    }))
    for (const member of members) this.consumers.set(member.consumerId, member)
    const forget = () => { for (const member of members) this.consumers.delete(member.consumerId) }
    try {
      await Promise.all(members.map((member) => member.attach()))
    } catch (error) {
      await Promise.all(members.map((member) => member.close('close-consumer').catch(() => {})))
      forget()
      throw error
    }
    let consumer: Consumer | undefined
    const nacks = new NegativeAcks({ delayMs: nackDelayMs, timers: this.context.timers, redeliver: (ids) => { consumer?.redeliver(ids) } })
    consumer = new Consumer({
      topic, subscription: options.subscription, partitions: members, queue, nacks,
      onClose: () => { forget(); if (consumer !== undefined) this.openConsumers.delete(consumer) }
    })
    this.openConsumers.add(consumer)
    return consumer
  }

  /** Closes every producer (after flushing) and consumer, then the connections. Idempotent. */
  close (): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown (): Promise<void> {
    await Promise.allSettled([...this.openProducers].map((producer) => producer.close()))
    await Promise.allSettled([...this.openConsumers].map((consumer) => consumer.close()))
    this.closeController.abort(new ClientClosedError({ operation: 'client' }))
    const closed = new ClientClosedError({ operation: 'send' })
    for (const producer of this.producers.values()) producer.abort(closed)
    await this.context.pool.close()
    if (this.ownsTransport) await this.transport.stop()
  }

  private checkOpen (operation: string): void {
    if (this.closing !== undefined) throw new ClientClosedError({ operation })
  }

  /** The topic's full name and its partitions (-1 alone for a non-partitioned topic). */
  private async partitionsOf (topic: string): Promise<{ topic: string, partitions: number[] }> {
    const name = parseTopicName(topic)
    if (name.partitionIndex !== NON_PARTITIONED) return { topic: name.base, partitions: [name.partitionIndex] }
    const result = await this.admin.topics.lookup(name.full)
    if (result.partitions === 0) return { topic: name.full, partitions: [NON_PARTITIONED] }
    return { topic: name.full, partitions: Array.from({ length: result.partitions }, (_, i) => i) }
  }

  private dispatch (peer: string, push: ServerPush): void {
    switch (push.type) {
      case 'messages': this.consumers.get(push.consumerId)?.delivered(peer, push.entries); break
      case 'consumer-closed': this.consumers.get(push.consumerId)?.serverClosed(peer); break
      case 'producer-closed': this.producers.get(push.producerId)?.serverClosed(peer); break
      case 'active-consumer-change': break
    }
  }

  private connectionLost (peer: string): void {
    for (const producer of this.producers.values()) if (producer.peer === peer) producer.detach()
    for (const consumer of this.consumers.values()) if (consumer.peer === peer) consumer.detach()
  }
}
