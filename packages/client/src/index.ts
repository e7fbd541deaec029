// @blazar/client: the TypeScript client, shaped like Pulsar's Node client. Client, Producer,
// Consumer, Message, the admin API, and the client's own errors; every broker error class comes
// from @blazar/protocol (re-exported here for convenience). See README.md.
export { Client } from './client.ts'
export { Producer, type ProducerMessageInput } from './producer.ts'
export { Consumer, type MessageOrId } from './consumer.ts'
export type { Message } from './message.ts'
export { Admin, type ClusterStatus, type TopicStats } from './admin.ts'
export { ClientClosedError, ConnectionFailedError, isRetryable, type RetryScope } from './errors.ts'
export {
  DEFAULT_BATCHING_MAX_PUBLISH_DELAY_MS, DEFAULT_MAX_PENDING_MESSAGES,
  DEFAULT_OPERATION_TIMEOUT_MS, MAX_TOTAL_RECEIVER_QUEUE_SIZE_ACROSS_PARTITIONS, serviceUrls,
  type ClientOptions, type ConsumerOptions, type ProducerOptions
} from './options.ts'
export { MESSAGE_ROUTING_MODES, MessageRouter, type MessageRoutingMode } from './routing.ts'
export { MAX_INFLIGHT_BATCHES } from './partition-producer.ts'
export { MAX_RECEIVE_WAITERS } from './receiver-queue.ts'
export { MAX_PENDING_NACKS } from './negative-acks.ts'
export { MAX_CONNECTIONS, PUSH_PERMIT_WINDOW, UNREACHABLE_BACKOFF_MS } from './connection-pool.ts'
export { RETRY_BASE_DELAY_MS, RETRY_MAX_DELAY_MS, retryDelayMs } from './retry.ts'
export { realTimers, type TimerHandle, type Timers } from './timers.ts'
export { lz4Codec } from './lz4-codec.ts'
export { snappyCodec } from './snappy-codec.ts'
export { zlibCodec } from './zlib-codec.ts'
export { zstdCodec } from './zstd-codec.ts'
export { MessageId } from '@blazar/protocol'
