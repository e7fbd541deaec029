// Named limits and Pulsar's defaults. Every size a decoder accepts is bounded here; exceeding
// a limit is a typed error (MessageTooLarge, MalformedMessage, LimitExceeded), never growth.

const MiB = 1024 * 1024

/** Pulsar `maxMessageSize` (5 MiB): the largest message, and the largest batch (a batch counts as one entry). */
export { DEFAULT_MAX_MESSAGE_SIZE } from '@blazar/pulsar-wire/messages'
/** Decoders refuse any single byte field above this, whatever a namespace configures. */
export const MAX_MESSAGE_SIZE_CEILING = 64 * MiB
/** Messages in one producer batch (Pulsar's client default batches 1,000; this is the decoder bound). */
export const MAX_MESSAGES_PER_BATCH = 65_536
/** Properties per message, and the length of a property key or value. */
export const MAX_PROPERTIES_PER_MESSAGE = 256
export const MAX_PROPERTY_LENGTH = 16_384
/** Length of a message key. */
export const MAX_KEY_LENGTH = 65_536
/** Length of a tenant, namespace, local topic, subscription, producer or consumer name. */
export const MAX_NAME_LENGTH = 255
/** Length of a full topic name (`persistent://t/ns/topic-partition-N`). */
export const MAX_TOPIC_NAME_LENGTH = 1_024
/** Partitions of one partitioned topic. */
export const MAX_PARTITIONS = 10_000
/** Message IDs in one ack or redeliver request. */
export const MAX_IDS_PER_REQUEST = 10_000
/** Pulsar `managedLedgerMaxUnackedRangesToPersist`: ack holes persisted per cursor; more stay in memory only. */
export const MAX_PERSISTED_ACK_RANGES = 10_000
/**
 * Pulsar `managedLedgerMaxBatchDeletedIndexToPersist`: partly acknowledged batches whose acked
 * batch indexes a cursor persists; beyond it the rest stay in the dispatcher's memory only.
 */
export const MAX_PERSISTED_BATCH_ACKS = 10_000
/** Producers tracked by a partition's dedup table (Pulsar `brokerDeduplicationMaxNumberOfProducers`). */
export const MAX_DEDUP_PRODUCERS = 10_000
/** Pulsar `brokerDeduplicationProducerInactivityTimeoutMinutes` (6 h): an idle producer is forgotten. */
export const DEDUP_PRODUCER_INACTIVITY_MS = 6 * 60 * 60 * 1000
/** Subscriptions on one partition. */
export const MAX_SUBSCRIPTIONS_PER_PARTITION = 10_000
/** Items in any list response (topics, namespaces, tenants, nodes). */
export const MAX_LIST_ITEMS = 100_000
/** Addresses a node advertises. */
export const MAX_NODE_ADDRESSES = 16
/** Deepest message an admin peek may ask for (Pulsar's peek walks the backlog one by one). */
export const MAX_PEEK_POSITION = 10_000
/** Flow permits one request may grant. */
export const MAX_FLOW_PERMITS = 1_000_000

/** Pulsar client defaults, for the client and the CLI. */
export const PULSAR_DEFAULTS = {
  sendTimeoutMs: 30_000,
  batchingEnabled: true,
  batchingMaxMessages: 1_000,
  batchingMaxBytes: 128 * 1024,
  batchingMaxPublishDelayMs: 1,
  receiverQueueSize: 1_000,
  subscriptionType: 'Exclusive',
  subscriptionInitialPosition: 'Latest',
  negativeAckRedeliveryDelayMs: 60_000,
  ackTimeoutMs: 0,
  compressionType: 'NONE'
} as const
