// @blazar/client: the TypeScript client, shaped like Pulsar's Node client. Client, Producer,
// Consumer, Reader, Message, the admin API, and the client's own errors; every broker error
// class comes from @blazar/protocol (re-exported here for convenience). See README.md.
export { Client } from './client.ts'
export { Producer, type ProducerMessageInput } from './producer.ts'
export type { ClientLink, ClientTransport } from './client-transport.ts'
export { Consumer, type MessageOrId } from './consumer.ts'
export { Reader } from './reader.ts'
export { TopicMessageId, type Message } from './message.ts'
export { Admin, type ClusterStatus, type TopicStats } from './admin.ts'
export { ClientClosedError, ConnectionFailedError, isRetryable, type RetryScope } from './errors.ts'
export {
  DEFAULT_BATCHING_MAX_PUBLISH_DELAY_MS, DEFAULT_MAX_PENDING_MESSAGES, DEFAULT_OPERATION_TIMEOUT_MS,
  DEFAULT_PATTERN_AUTO_DISCOVERY_PERIOD_MS, MAX_TOPICS_PER_CONSUMER, MAX_TOTAL_RECEIVER_QUEUE_SIZE_ACROSS_PARTITIONS, serviceUrls,
  type ClientFaults, type ClientOptions, type ConsumerOptions, type ProducerOptions, type ReaderOptions
} from './options.ts'
export { DEFAULT_ACKNOWLEDGEMENTS_GROUP_TIME_MS, MAX_ACK_GROUP_SIZE, MAX_PENDING_ACKS } from './ack-grouping.ts'
export { DEFAULT_ACK_TIMEOUT_TICK_TIME_MS, MAX_TRACKED_UNACKED, MIN_ACK_TIMEOUT_MS } from './ack-timeout.ts'
export { DELAY_TIME, MAX_HELD_DEAD_LETTERS, ORIGIN_MESSAGE_ID, REAL_TOPIC, RECONSUMETIMES } from './dead-letter.ts'
export { DEFAULT_MAX_RECONSUME_TIMES, deadLetterDue, type DeadLetterPolicy } from './dead-letter-policy.ts'
export { MAX_TRACKED_REDELIVERIES } from './redelivery-counts.ts'
export {
  DEFAULT_BACKOFF_MAX_DELAY_MS, DEFAULT_BACKOFF_MIN_DELAY_MS, DEFAULT_BACKOFF_MULTIPLIER, multiplierRedeliveryBackoff,
  type MultiplierRedeliveryBackoffOptions, type RedeliveryBackoff
} from './redelivery-backoff.ts'
export { MESSAGE_ROUTING_MODES, MessageRouter, type MessageRoutingMode } from './routing.ts'
export { MAX_INFLIGHT_BATCHES } from './partition-producer.ts'
export { MAX_RECEIVE_WAITERS } from './receiver-queue.ts'
export { MAX_PENDING_NACKS } from './negative-acks.ts'
export { MAX_CONNECTIONS, PUSH_PERMIT_WINDOW, UNREACHABLE_BACKOFF_MS } from './connection-pool.ts'
export { RETRY_BASE_DELAY_MS, RETRY_MAX_DELAY_MS, retryDelayMs } from './retry.ts'
export { realTimers, type TimerHandle, type Timers } from './timers.ts'
export { PULSAR_CODECS } from './pulsar-codecs.ts'
export { lz4Codec } from './lz4-codec.ts'
export { snappyCodec } from './snappy-codec.ts'
export { zlibCodec } from './zlib-codec.ts'
export { zstdCodec } from './zstd-codec.ts'
export { MessageId } from '@blazar/protocol'
