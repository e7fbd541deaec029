// The Client: one transport (an ephemeral libp2p identity unless one is given), one
// connection pool, and every producer and consumer created from it. It routes server pushes
// to the producer or consumer they name and tells them when their connection is lost.
import {
  CompressionCodecs, InvalidArgumentError, NON_PARTITIONED, PRODUCER_ACCESS_MODES, PULSAR_DEFAULTS,
  parseTopicName, partitionTopicName, validateEntityName, type ServerPush
} from '@blazar/protocol'
import { Transport } from '@blazar/transport'
import { DEFAULT_ACKNOWLEDGEMENTS_GROUP_TIME_MS } from './ack-grouping.ts'
import { AckTimeoutTracker, DEFAULT_ACK_TIMEOUT_TICK_TIME_MS, MIN_ACK_TIMEOUT_MS } from './ack-timeout.ts'
import { Admin } from './admin.ts'
import type { ClientTransport } from './client-transport.ts'
import { ConnectionPool } from './connection-pool.ts'
import { Consumer, type ConsumerBehaviour } from './consumer.ts'
import type { ClientContext } from './context.ts'
import { DeadLetters } from './dead-letter.ts'
import { DEFAULT_MAX_RECONSUME_TIMES, resolveDeadLetterPolicy } from './dead-letter-policy.ts'
import { ClientClosedError } from './errors.ts'
import { TopicLookup } from './lookup.ts'
import { NegativeAcks } from './negative-acks.ts'
import {
  DEFAULT_MAX_PENDING_MESSAGES, DEFAULT_OPERATION_TIMEOUT_MS, DEFAULT_PATTERN_AUTO_DISCOVERY_PERIOD_MS, batchLimits,
  consumerSettings, initialTopics, positiveInteger, receiverQueueSizeFor, serviceUrls,
  type ClientOptions, type ConsumerOptions, type ConsumerSettings, type ProducerOptions, type ReaderOptions
} from './options.ts'
import { PartitionConsumer, type SubscriptionSettings } from './partition-consumer.ts'
import { PartitionProducer, type ProducerSettings } from './partition-producer.ts'
import { Producer } from './producer.ts'
import { Reader, readerStart } from './reader.ts'
import { ReceiverQueue } from './receiver-queue.ts'
import { constantRedeliveryDelay } from './redelivery-backoff.ts'
import { MESSAGE_ROUTING_MODES, MessageRouter } from './routing.ts'
import type { StartPoint } from './start-point.ts'
import { realTimers } from './timers.ts'
import { PULSAR_CODECS } from './pulsar-codecs.ts'
import { TopicDiscovery, parseTopicsPattern } from './topic-discovery.ts'

/** Reader subscription names, and consumer names the application did not give, are 10 random hex digits. */
const RANDOM_NAME_SPACE = 16 ** 10

export class Client {
  readonly admin: Admin
  private readonly context: ClientContext
  private readonly transport: ClientTransport
  private readonly ownsTransport: boolean
  private readonly closeController: AbortController
  private readonly producers = new Map<number, PartitionProducer>()
  private readonly consumers = new Map<number, PartitionConsumer>()
  private readonly openProducers = new Set<Producer>()
  private readonly openConsumers = new Set<Consumer>()
  private closing: Promise<void> | undefined

  private constructor (init: { context: ClientContext, transport: ClientTransport, ownsTransport: boolean, closeController: AbortController }) {
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
      random: options.random ?? Math.random,
      ...(options.faults === undefined ? {} : { faults: options.faults }),
      codecs: new CompressionCodecs([...PULSAR_CODECS, ...(options.compressionCodecs ?? [])]),
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
      topic, partitions: producers, router: new MessageRouter(producers.length, routingMode, Math.floor(this.context.random() * producers.length)),
      onClose: () => { forget(); this.openProducers.delete(producer) },
      now: () => this.context.timers.now()
    })
    this.openProducers.add(producer)
    return producer
  }

  /** A consumer of one topic, a list of topics, or the topics of a namespace matching `topicsPattern`. */
  async subscribe (options: ConsumerOptions): Promise<Consumer> {
    this.checkOpen('subscribe')
    // A consumer keeps one name for good, as Pulsar's clients generate it: the node's record of
    // it ends with each leadership change, and a re-subscribe must not come back as someone else
    // (Failover picks its active consumer by name).
    const settings = consumerSettings({ ...options, consumerName: options.consumerName ?? this.randomName() }, true)
    const initial = initialTopics(options)
    const pattern = options.topicsPattern === undefined ? undefined : parseTopicsPattern(options.topicsPattern)
    const firstTopic = pattern === undefined ? initial[0] : undefined
    const behaviour = this.consumerBehaviour(options, firstTopic)
    const topics = pattern === undefined ? [...initial] : []
    const retryTopic = behaviour.retryEnable ? behaviour.deadLetters?.policy.retryLetterTopic : undefined
    if (retryTopic !== undefined) topics.push(retryTopic)
    const discovery = pattern === undefined
      ? undefined
      : new TopicDiscovery({
        pattern, timers: this.context.timers,
        intervalMs: positiveInteger('patternAutoDiscoveryPeriodMs', options.patternAutoDiscoveryPeriodMs ?? DEFAULT_PATTERN_AUTO_DISCOVERY_PERIOD_MS),
        list: async (namespace) => await this.admin.topics.list(namespace),
        subscribed: () => consumer.getTopics().filter((topic) => topic !== retryTopic),
        add: async (topic) => { await consumer.addTopic(topic) },
        remove: async (topic) => { await consumer.removeTopic(topic) }
      })
    if (discovery !== undefined) topics.push(...await discovery.matching())
    const consumer = this.newConsumer(firstTopic ?? String(options.topicsPattern), settings, behaviour)
    await this.addTopics(consumer, topics)
    if (discovery !== undefined) {
      consumer.discoveredBy(() => { discovery.stop() })
      discovery.start()
    }
    return consumer
  }

  /** 10 random hex digits (the context's random: seeded in the simulator). */
  private randomName (): string {
    return Math.floor(this.context.random() * RANDOM_NAME_SPACE).toString(16).padStart(10, '0')
  }

  /**
   * A Reader: an Exclusive, non-durable subscription named `<subscriptionRolePrefix>-<random>`
   * that starts at `startMessageId` and acknowledges as it reads.
   */
  async createReader (options: ReaderOptions): Promise<Reader> {
    this.checkOpen('createReader')
    const prefix = options.subscriptionRolePrefix ?? 'reader'
    const subscription = `${prefix}-${this.randomName()}`
    const start = readerStart(options)
    const settings = consumerSettings({
      subscription, subscriptionType: 'Exclusive',
      subscriptionInitialPosition: start.initialPosition,
      ...(options.receiverQueueSize === undefined ? {} : { receiverQueueSize: options.receiverQueueSize }),
      consumerName: options.readerName ?? this.randomName(),
      ...(options.readCompacted === undefined ? {} : { readCompacted: options.readCompacted })
    }, false)
    const behaviour: ConsumerBehaviour = {
      acknowledgementsGroupTimeMs: DEFAULT_ACKNOWLEDGEMENTS_GROUP_TIME_MS,
      nacks: (redeliver) => new NegativeAcks({ backoff: constantRedeliveryDelay(PULSAR_DEFAULTS.negativeAckRedeliveryDelayMs), timers: this.context.timers, redeliver }),
      ackTimeout: undefined, deadLetters: undefined, retryEnable: false, reader: true
    }
    const consumer = this.newConsumer(options.topic, settings, behaviour)
    await this.addTopics(consumer, [options.topic], start.point)
    return new Reader({ topic: parseTopicName(options.topic).full, consumer, queuedMessages: () => consumer.queuedMessages, start: start.point })
  }

  private newConsumer (topic: string, settings: ConsumerSettings, behaviour: ConsumerBehaviour): Consumer {
    const queue = new ReceiverQueue(0, this.context.timers)
    let consumer: Consumer | undefined
    consumer = new Consumer({
      topic, subscription: settings.subscription.subscription, queue, behaviour, timers: this.context.timers,
      deps: {
        attachTopic: async (name, start) => await this.attachTopic(name, settings, queue, start),
        forget: (members) => { for (const member of members) this.consumers.delete(member.consumerId) },
        onClose: () => { if (consumer !== undefined) this.openConsumers.delete(consumer) }
      }
    })
    this.openConsumers.add(consumer)
    return consumer
  }

  /** Subscribes `consumer` to every topic; if one fails, the consumer is closed and the error thrown. */
  private async addTopics (consumer: Consumer, topics: readonly string[], start?: StartPoint): Promise<void> {
    try {
      for (const topic of topics) await consumer.addTopic(topic, start)
    } catch (error) {
      await consumer.close().catch(() => {})
      throw error
    }
  }

  /** One PartitionConsumer per partition of `topic`, attached, feeding `queue` (which grows by their share, for good). */
  private async attachTopic (topic: string, settings: ConsumerSettings, queue: ReceiverQueue, start: StartPoint | undefined): Promise<PartitionConsumer[]> {
    const { topic: base, partitions } = await this.partitionsOf(topic)
    if (start !== undefined && partitions.length > 1) {
      throw new InvalidArgumentError({ argument: 'startMessageId', reason: `${base} is partitioned: a reader of all its partitions starts at MessageId.earliest() or latest()` })
    }
    const receiverQueueSize = receiverQueueSizeFor({ receiverQueueSize: settings.receiverQueueSize }, partitions.length)
    const subscription: SubscriptionSettings = { ...settings.subscription, receiverQueueSize }
    const members = partitions.map((partition) => new PartitionConsumer({
      context: this.context, settings: subscription, lookupTopic: base, partition, queue,
      topic: partition === NON_PARTITIONED ? base : partitionTopicName(base, partition),
      ...(start === undefined ? {} : { start })
    }))
    for (const member of members) this.consumers.set(member.consumerId, member)
    // The queue makes room before the first push can arrive.
    queue.resize(receiverQueueSize * members.length)
    try {
      await Promise.all(members.map((member) => member.attach()))
    } catch (error) {
      await Promise.all(members.map((member) => member.close('close-consumer').catch(() => {})))
      for (const member of members) this.consumers.delete(member.consumerId)
      queue.resize(-receiverQueueSize * members.length)
      throw error
    }
    return members
  }

  private consumerBehaviour (options: ConsumerOptions, firstTopic: string | undefined): ConsumerBehaviour {
    const timers = this.context.timers
    const nackDelayMs = positiveInteger('negativeAckRedeliveryDelayMs', options.negativeAckRedeliveryDelayMs ?? PULSAR_DEFAULTS.negativeAckRedeliveryDelayMs, Number.MAX_SAFE_INTEGER, 0)
    const backoff = options.negativeAckRedeliveryBackoff ?? constantRedeliveryDelay(nackDelayMs)
    const ackTimeoutMs = positiveInteger('ackTimeoutMs', options.ackTimeoutMs ?? PULSAR_DEFAULTS.ackTimeoutMs, Number.MAX_SAFE_INTEGER, 0)
    if (ackTimeoutMs > 0 && ackTimeoutMs < MIN_ACK_TIMEOUT_MS) throw new InvalidArgumentError({ argument: 'ackTimeoutMs', reason: `0 (off) or at least ${MIN_ACK_TIMEOUT_MS}` })
    const tickMs = positiveInteger('ackTimeoutTickTimeMs', options.ackTimeoutTickTimeMs ?? DEFAULT_ACK_TIMEOUT_TICK_TIME_MS)
    const retryEnable = options.retryEnable ?? false
    const policy = options.deadLetterPolicy ?? (retryEnable ? { maxRedeliverCount: DEFAULT_MAX_RECONSUME_TIMES } : undefined)
    const deadLetters = policy === undefined
      ? undefined
      : new DeadLetters(resolveDeadLetterPolicy(policy, firstTopic, options.subscription), {
        // Unbatched: dead letters are rare, and each is acknowledged on its own topic once it is stored.
        createProducer: async (topic) => await this.createProducer({ topic, batchingEnabled: false }),
        createSubscription: async (topic, subscription) => {
          const created = await this.subscribe({ topic, subscription, subscriptionInitialPosition: 'Earliest', acknowledgementsGroupTimeMs: 0 })
          await created.close()
        }
      })
    return {
      acknowledgementsGroupTimeMs: positiveInteger('acknowledgementsGroupTimeMs', options.acknowledgementsGroupTimeMs ?? DEFAULT_ACKNOWLEDGEMENTS_GROUP_TIME_MS, 3_600_000, 0),
      nacks: (redeliver) => new NegativeAcks({ backoff, timers, redeliver }),
      ackTimeout: ackTimeoutMs === 0 ? undefined : (redeliver) => new AckTimeoutTracker({ timeoutMs: ackTimeoutMs, tickMs, timers, redeliver }),
      deadLetters, retryEnable, reader: false
    }
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
