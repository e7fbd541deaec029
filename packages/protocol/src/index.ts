// @blazar/protocol: pure, portable wire types. Topic names, message IDs, errors and their wire
// form, the client protocol's messages, partition log entries, the producer batch format and
// the compression codec interface. No I/O; every decoder validates.
export {
  BlazarError, defineError, errorClassFor, registeredErrorCodes,
  type BlazarErrorClass, type ErrorDetails, type ErrorSpec, type WireError
} from './error-base.ts'
export * from './errors.ts'
export { MalformedMessageError } from './schema.ts'
export * as schema from './schema.ts'
export type { Infer, Schema } from './schema.ts'
export * from './limits.ts'
export * from './names.ts'
export { DLQ_SUFFIX, ORIGIN_MESSAGE_ID, REAL_TOPIC, defaultDeadLetterTopic } from './dead-letter.ts'
export { MessageId, MESSAGE_ID_BYTES, compareMessageIds, type MessageIdData } from './message-id.ts'
export {
  PULSAR_EARLIEST_ENTRY, PULSAR_LATEST_ENTRY, PULSAR_LEDGER_ID, ackSetOf, ackedBatchIndexesOf, fromPulsarMessageId, toPulsarMessageId
} from './pulsar-message-id.ts'
export { pack, unpack } from './codec.ts'
export { keyHash, murmur3_32 } from './hash.ts'
export { COMPRESSION_TYPES, CompressionCodecs, noCompression, type CompressionCodec, type CompressionType } from './compression.ts'
export {
  batchEnvelopeFromBody, batchEnvelopeFromPulsarSend, batchEnvelopeSchema, checkBatchEnvelope, decodeBatch, encodeBatch,
  producerMessageSchema, type BatchEnvelope, type DecodedMessage, type EncodeBatchOptions, type ProducerMessage
} from './batch.ts'
export {
  BACKLOG_QUOTA_POLICIES, BACKLOG_QUOTA_TYPES, DEFAULT_PARTITION_CONFIG, INITIAL_POSITIONS, MAX_DEAD_LETTERS_PER_ENTRY, MAX_PARTITION_ENTRY_BYTES, PartitionEntryKind, SUBSCRIPTION_TYPES,
  backlogQuotaSchema, backlogQuotasSchema, decodePartitionEntry, encodePartitionEntry, partitionConfigSchema,
  type BacklogQuota, type BacklogQuotaPolicy, type BacklogQuotaType, type BacklogQuotas, type BatchEntry, type CursorEntry, type CursorPosition, type InitialPosition, type PartitionConfig,
  type PartitionEntry, type PartitionEntryKindName, type SubscriptionEntry, type SubscriptionType, type TrimEntry, type CompactionEntry,
  type DeadLetterEntry, type DeadLetterForwardedEntry
} from './partition-entry.ts'
export {
  DISPATCH_BLOCK_REASONS, MAX_BLOCKED_KEY_HASHES_IN_STATS, MAX_CLIENT_MESSAGE_BYTES, PRODUCER_ACCESS_MODES, clientRequestSchema, clientResultSchemas,
  decodeClientRequest, decodeClientResponse, decodeServerPush, encodeClientRequest, encodeClientResponse,
  encodeServerPush, messageIdSchema, parseClientReply, parseClientRequestBody, parseServerPush, namespacePoliciesSchema, serverPushSchema, subscriptionMoveSchema,
  type ClientReply, type ClientRequest, type ClientRequestBody, type ClientRequestType, type ClientResponse, type ClientResult,
  type DeliveredEntry, type DispatchBlockReason, type NamespacePoliciesUpdate, type ServerPush, type SubscriptionMove
} from './client-messages.ts'
