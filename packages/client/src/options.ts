// Client, producer and consumer options with Pulsar's defaults, validated once, and the
// service URL rules: one or more node multiaddrs ending in /p2p/<PeerId>, as a list or one
// comma- or whitespace-separated string, else the BLAZAR_SERVICE_URL environment variable.
import {
  INITIAL_POSITIONS, InvalidArgumentError, MAX_FLOW_PERMITS, MAX_MESSAGES_PER_BATCH, PULSAR_DEFAULTS, SUBSCRIPTION_TYPES,
  parseTopicName, validateEntityName, type CompressionCodec, type CompressionType, type InitialPosition, type MessageId, type SubscriptionType
} from '@blazar/protocol'
import type { TransportSettings } from '@blazar/transport'
import type { ClientTransport } from './client-transport.ts'
import type { DeadLetterPolicy } from './dead-letter-policy.ts'
import type { SubscriptionSettings } from './partition-consumer.ts'
import type { RedeliveryBackoff } from './redelivery-backoff.ts'
import type { MessageRoutingMode } from './routing.ts'
import type { Timers } from './timers.ts'

/** Pulsar's operationTimeoutSeconds default (30 s). */
export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000
/** Pulsar's maxPendingMessages is unbounded by default; Blazar bounds it (blockIfQueueFull=false: reject). */
export const DEFAULT_MAX_PENDING_MESSAGES = 10_000
/** Pulsar's Node client flushes a batch after 10 ms. */
export const DEFAULT_BATCHING_MAX_PUBLISH_DELAY_MS = 10
/** Pulsar's maxTotalReceiverQueueSizeAcrossPartitions. */
export const MAX_TOTAL_RECEIVER_QUEUE_SIZE_ACROSS_PARTITIONS = 50_000

export interface ClientOptions {
  serviceUrl?: string | readonly string[]
  operationTimeoutMs?: number
  /** Codecs beyond NONE and ZLIB (which are built in). */
  compressionCodecs?: readonly CompressionCodec[]
  transportSettings?: Partial<TransportSettings>
  /** A started transport to use (not stopped by close()); by default the client starts its own, with an ephemeral identity. */
  transport?: ClientTransport
  timers?: Timers
  /** Uniform in [0, 1): the source of the client's random choices (reader names, the first round-robin partition); Math.random by default. */
  random?: () => number
  /** Test-only deliberate bugs: the simulator's node workload must catch each. */
  faults?: ClientFaults
}

export interface ClientFaults {
  /** Issue 15 bug 2 put back: a producer reports a stored batch as soon as its answer arrives, ahead of earlier batches whose outcome is open. */
  releaseAcksOnArrival?: boolean
}

export interface ProducerOptions {
  topic: string
  producerName?: string
  sendTimeoutMs?: number
  batchingEnabled?: boolean
  batchingMaxMessages?: number
  batchingMaxPublishDelayMs?: number
  batchingMaxBytes?: number
  maxPendingMessages?: number
  messageRoutingMode?: MessageRoutingMode
  compressionType?: CompressionType
  accessMode?: 'Shared' | 'Exclusive' | 'ExclusiveWithFencing' | 'WaitForExclusive'
}

/** Pulsar's patternAutoDiscoveryPeriod default (1 minute). */
export const DEFAULT_PATTERN_AUTO_DISCOVERY_PERIOD_MS = 60_000

export interface ConsumerOptions {
  /** One topic; or `topics` (a list), or `topicsPattern` (a regex over one namespace's topics). Exactly one of the three. */
  topic?: string
  topics?: readonly string[]
  /** A regex matched against full topic names, e.g. `persistent://acme/prod/orders-.*` (`orders-.*` means public/default). */
  topicsPattern?: string | RegExp
  /** How often a pattern consumer lists its namespace for new and deleted topics. */
  patternAutoDiscoveryPeriodMs?: number
  subscription: string
  subscriptionType?: SubscriptionType
  subscriptionInitialPosition?: InitialPosition
  receiverQueueSize?: number
  consumerName?: string
  negativeAckRedeliveryDelayMs?: number
  /** Replaces the constant negativeAckRedeliveryDelayMs with a delay that grows with the redelivery count. */
  negativeAckRedeliveryBackoff?: RedeliveryBackoff
  /** 0 (the default) = off; else at least MIN_ACK_TIMEOUT_MS. */
  ackTimeoutMs?: number
  ackTimeoutTickTimeMs?: number
  /** 0 sends every ack at once. */
  acknowledgementsGroupTimeMs?: number
  deadLetterPolicy?: DeadLetterPolicy
  /** Subscribe to the retry topic as well and allow reconsumeLater (Pulsar `enableRetry`). */
  retryEnable?: boolean
  /**
   * Pulsar readCompacted (default false): read the topic's compacted view (the latest message
   * per key up to the compaction horizon), then the messages after it. Exclusive and Failover
   * subscriptions only; the node refuses it on others (UNSUPPORTED_OPERATION).
   */
  readCompacted?: boolean
}

export interface ReaderOptions {
  topic: string
  /** MessageId.earliest(), MessageId.latest() or a message's ID (a partition's, for a partitioned topic). */
  startMessageId: MessageId
  /** Whether the message `startMessageId` names is read too (default false). */
  startMessageIdInclusive?: boolean
  receiverQueueSize?: number
  readerName?: string
  /** The reader's subscription is `<prefix>-<10 random hex digits>` (default prefix `reader`). */
  subscriptionRolePrefix?: string
  /** Pulsar readCompacted (default false): read the compacted view up to its horizon, then the messages after it. */
  readCompacted?: boolean
}

export function serviceUrls (serviceUrl: string | readonly string[] | undefined, env: Record<string, string | undefined> = process.env): string[] {
  const raw = serviceUrl ?? env.BLAZAR_SERVICE_URL
  const list = (typeof raw === 'string' ? [raw] : [...(raw ?? [])]).flatMap((entry) => entry.split(/[\s,]+/)).filter((entry) => entry.length > 0)
  if (list.length === 0) throw new InvalidArgumentError({ argument: 'serviceUrl', reason: 'no node address given (serviceUrl or BLAZAR_SERVICE_URL)' })
  for (const address of list) {
    if (!address.startsWith('/') || !address.includes('/p2p/')) {
      throw new InvalidArgumentError({ argument: 'serviceUrl', reason: `${address.slice(0, 200)} is not a multiaddr ending in /p2p/<PeerId>` })
    }
  }
  return list
}

export function positiveInteger (argument: string, value: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError({ argument, reason: `must be an integer in [${min}, ${max}], got ${value}` })
  }
  return value
}

export function receiverQueueSizeFor (options: { receiverQueueSize?: number }, partitions: number): number {
  const size = positiveInteger('receiverQueueSize', options.receiverQueueSize ?? PULSAR_DEFAULTS.receiverQueueSize, MAX_FLOW_PERMITS)
  if (partitions <= 1) return size
  return Math.max(1, Math.min(size, Math.floor(MAX_TOTAL_RECEIVER_QUEUE_SIZE_ACROSS_PARTITIONS / partitions)))
}

export function batchLimits (options: ProducerOptions): { maxMessages: number, maxBytes: number, delayMs: number } {
  return {
    maxMessages: positiveInteger('batchingMaxMessages', options.batchingMaxMessages ?? PULSAR_DEFAULTS.batchingMaxMessages, MAX_MESSAGES_PER_BATCH),
    maxBytes: positiveInteger('batchingMaxBytes', options.batchingMaxBytes ?? PULSAR_DEFAULTS.batchingMaxBytes),
    delayMs: positiveInteger('batchingMaxPublishDelayMs', options.batchingMaxPublishDelayMs ?? DEFAULT_BATCHING_MAX_PUBLISH_DELAY_MS, 3_600_000, 0)
  }
}

/** Topics one consumer subscribes to at most (a list, or what a pattern matches). */
export const MAX_TOPICS_PER_CONSUMER = 1_000

export interface ConsumerSettings {
  /** What every partition consumer subscribes with (the receiver queue share is set per topic). */
  subscription: Omit<SubscriptionSettings, 'receiverQueueSize'>
  /** The requested receiverQueueSize per partition, before the cap across partitions. */
  receiverQueueSize: number
}

type SubscriptionOptions = Pick<ConsumerOptions, 'subscription' | 'subscriptionType' | 'subscriptionInitialPosition' | 'receiverQueueSize' | 'consumerName' | 'readCompacted'>

export function consumerSettings (options: SubscriptionOptions, durable: boolean): ConsumerSettings {
  validateEntityName('subscription', options.subscription)
  if (options.consumerName !== undefined) validateEntityName('consumer', options.consumerName)
  const subscriptionType = options.subscriptionType ?? PULSAR_DEFAULTS.subscriptionType
  if (!SUBSCRIPTION_TYPES.includes(subscriptionType)) throw new InvalidArgumentError({ argument: 'subscriptionType', reason: `one of ${SUBSCRIPTION_TYPES.join(', ')}` })
  const initialPosition = options.subscriptionInitialPosition ?? PULSAR_DEFAULTS.subscriptionInitialPosition
  if (!INITIAL_POSITIONS.includes(initialPosition)) throw new InvalidArgumentError({ argument: 'subscriptionInitialPosition', reason: `one of ${INITIAL_POSITIONS.join(', ')}` })
  const readCompacted = options.readCompacted ?? false
  if (typeof readCompacted !== 'boolean') throw new InvalidArgumentError({ argument: 'readCompacted', reason: 'must be a boolean' })
  return {
    subscription: {
      subscription: options.subscription, subscriptionType, initialPosition, durable,
      ...(options.consumerName === undefined ? {} : { consumerName: options.consumerName }),
      ...(readCompacted ? { readCompacted } : {})
    },
    receiverQueueSize: positiveInteger('receiverQueueSize', options.receiverQueueSize ?? PULSAR_DEFAULTS.receiverQueueSize, MAX_FLOW_PERMITS)
  }
}

/** The topics named by `topic` or `topics` ([] for `topicsPattern`); exactly one of the three must be given. */
export function initialTopics (options: ConsumerOptions): string[] {
  const given = [options.topic, options.topics, options.topicsPattern].filter((value) => value !== undefined).length
  if (given !== 1) throw new InvalidArgumentError({ argument: 'topic', reason: 'give exactly one of topic, topics and topicsPattern' })
  if (options.topicsPattern !== undefined) return []
  const topics = options.topic === undefined ? [...(options.topics ?? [])] : [options.topic]
  if (topics.length === 0 || topics.length > MAX_TOPICS_PER_CONSUMER) {
    throw new InvalidArgumentError({ argument: 'topics', reason: `between 1 and ${MAX_TOPICS_PER_CONSUMER} topics` })
  }
  return [...new Set(topics.map((topic) => parseTopicName(topic).full))]
}
