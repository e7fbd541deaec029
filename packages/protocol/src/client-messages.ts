// The client protocol's message bodies (carried by /blazar/client/1 frames): requests with an
// id, one response per request (a result or an error), and server pushes (messages for a
// consumer, a server-side close). Plain msgpack-able objects; every decoder validates and
// turns bad input into a MalformedMessageError, never a crash.
import { batchEnvelopeSchema, previousSequenceIdSchema } from './batch.ts'
import { pack, unpack } from './codec.ts'
import {
  MAX_FLOW_PERMITS, MAX_IDS_PER_REQUEST, MAX_KEY_LENGTH, MAX_LIST_ITEMS, MAX_MESSAGES_PER_BATCH, MAX_MESSAGE_SIZE_CEILING, MAX_NAME_LENGTH, MAX_NODE_ADDRESSES,
  MAX_PARTITIONS, MAX_PEEK_POSITION, MAX_TOPIC_NAME_LENGTH
} from './limits.ts'
import { INITIAL_POSITIONS, MAX_DEAD_LETTERS_PER_ENTRY, SUBSCRIPTION_TYPES, backlogQuotasSchema, compactionThresholdSchema, cursorPositionSchema, messageTTLSecondsSchema } from './partition-entry.ts'
import {
  array, boolean, bytes, int, literal, nullable, number, object, optional, plainObject, string, union, type Infer, type Schema
} from './schema.ts'

/** Largest encoded client frame body: one full batch plus headroom. */
export const MAX_CLIENT_MESSAGE_BYTES = MAX_MESSAGE_SIZE_CEILING + 1024 * 1024

const topic = string({ min: 1, max: MAX_TOPIC_NAME_LENGTH })
const name = string({ min: 1, max: MAX_NAME_LENGTH })
const namespace = string({ min: 3, max: 2 * MAX_NAME_LENGTH + 1 })
const handle = int({ min: 0, max: 0xffffffff })
const count = int({ min: 0, max: Number.MAX_SAFE_INTEGER })
const nodeId = string({ min: 1, max: MAX_NAME_LENGTH })
const requestId = int({ min: 0, max: Number.MAX_SAFE_INTEGER })

export const messageIdSchema = object({
  partition: int({ min: -1, max: MAX_PARTITIONS - 1 }),
  index: count,
  batchIndex: int({ min: -1, max: 65_535 })
})

/** Pulsar producer access modes (default Shared). */
export const PRODUCER_ACCESS_MODES = ['Shared', 'Exclusive', 'ExclusiveWithFencing', 'WaitForExclusive'] as const

export const namespacePoliciesSchema = object({
  /** Replicas per partition (Blazar default 3). */
  replicationFactor: optional(int({ min: 1, max: 7 })),
  /** Pulsar `allowAutoTopicCreation`; Blazar's production default is off. */
  autoTopicCreation: optional(boolean),
  /** Pulsar `defaultNumPartitions` for auto-created topics. */
  defaultNumPartitions: optional(int({ min: 1, max: MAX_PARTITIONS })),
  retentionTimeMinutes: optional(int({ min: -1, max: Number.MAX_SAFE_INTEGER })),
  retentionSizeMB: optional(int({ min: -1, max: Number.MAX_SAFE_INTEGER })),
  deduplication: optional(boolean),
  maxMessageSize: optional(int({ min: 1, max: MAX_MESSAGE_SIZE_CEILING })),
  /** `majority-fsync` (default): acknowledged after fsync on a majority. `majority-memory` is the relaxed opt-in. */
  durability: optional(literal('majority-fsync', 'majority-memory')),
  /** Pulsar messageTTL in seconds (0 = off, the default). */
  messageTTLSeconds: optional(messageTTLSecondsSchema),
  /** Pulsar backlog quotas by type; a set replaces the whole map (default: none). */
  backlogQuotas: optional(backlogQuotasSchema),
  /** Pulsar compactionThreshold in bytes of backlog since the last compaction (0 = off, the default). */
  compactionThreshold: optional(compactionThresholdSchema)
})
export type NamespacePoliciesUpdate = Infer<typeof namespacePoliciesSchema>

/**
 * How an admin moves a cursor: to a position (reset), past the next `messages` unacknowledged
 * messages (skip), past every message (skip all), or past messages published more than
 * `seconds` ago (expire). Skip and expire move by whole batches and only forward.
 */
export const subscriptionMoveSchema = union('to', {
  position: object({ position: cursorPositionSchema }),
  skip: object({ messages: int({ min: 1, max: Number.MAX_SAFE_INTEGER }) }),
  'skip-all': object({}),
  expire: object({ seconds: int({ min: 0, max: Number.MAX_SAFE_INTEGER }) })
})
export type SubscriptionMove = Infer<typeof subscriptionMoveSchema>

export const clientRequestBodySchema = union('type', {
  lookup: object({ topic }),
  'create-producer': object({
    topic,
    producerId: handle,
    producerName: optional(name),
    accessMode: literal(...PRODUCER_ACCESS_MODES)
  }),
  send: object({ producerId: handle, batch: batchEnvelopeSchema, previousSequenceId: previousSequenceIdSchema }),
  'close-producer': object({ producerId: handle }),
  subscribe: object({
    topic,
    subscription: name,
    consumerId: handle,
    consumerName: optional(name),
    subscriptionType: literal(...SUBSCRIPTION_TYPES),
    initialPosition: literal(...INITIAL_POSITIONS),
    /** false: a reader's subscription, kept in the leader's memory only (no cursor in the log); it ends with its last consumer. */
    durable: boolean,
    /** Non-durable only: where the reader starts (Pulsar `start_message_id`); `initialPosition` otherwise. */
    startMessageId: optional(messageIdSchema),
    /** With `startMessageId`: whether that message itself is delivered (Pulsar `startMessageIdInclusive`, default false). */
    startMessageIdInclusive: optional(boolean),
    /** Pulsar `readCompacted`: the compacted view up to its horizon, then the log (readers, Exclusive and Failover only). */
    readCompacted: optional(boolean)
  }),
  flow: object({ consumerId: handle, permits: int({ min: 0, max: MAX_FLOW_PERMITS }) }),
  ack: object({ consumerId: handle, ackType: literal('Individual', 'Cumulative'), messageIds: array(messageIdSchema, { max: MAX_IDS_PER_REQUEST }) }),
  /** Redeliver the given unacknowledged messages (negative ack), or all of them when none are given. */
  redeliver: object({ consumerId: handle, messageIds: optional(array(messageIdSchema, { max: MAX_IDS_PER_REQUEST })) }),
  seek: object({ consumerId: handle, position: cursorPositionSchema }),
  /**
   * The broker-side dead-letter path: the partition acknowledges the messages (batchIndex -1:
   * the whole batch) and forwards them to `deadLetterTopic` (default `<topic>-<subscription>-DLQ`)
   * exactly once. UNSUPPORTED_OPERATION where the node hosts no forwarder.
   */
  'dead-letter': object({ consumerId: handle, messageIds: array(messageIdSchema, { max: MAX_DEAD_LETTERS_PER_ENTRY }), deadLetterTopic: optional(string({ min: 1, max: MAX_TOPIC_NAME_LENGTH })) }),
  unsubscribe: object({ consumerId: handle }),
  /** Pulsar GET_LAST_MESSAGE_ID: the partition's last committed message and the subscription's mark-delete position. */
  'get-last-message-id': object({ consumerId: handle }),
  'close-consumer': object({ consumerId: handle }),
  'tenants-create': object({ tenant: name, adminRoles: array(name, { max: 1024 }), allowedClusters: array(name, { max: 1024 }) }),
  'tenants-delete': object({ tenant: name }),
  'tenants-list': object({}),
  'tenants-get': object({ tenant: name }),
  /** Replaces the tenant's admin roles and allowed clusters (Pulsar's POST /tenants/{tenant}). */
  'tenants-update': object({ tenant: name, adminRoles: array(name, { max: 1024 }), allowedClusters: array(name, { max: 1024 }) }),
  'namespaces-create': object({ namespace, policies: optional(namespacePoliciesSchema) }),
  'namespaces-delete': object({ namespace }),
  'namespaces-list': object({ tenant: name }),
  'namespaces-set-policies': object({ namespace, policies: namespacePoliciesSchema }),
  'namespaces-get-policies': object({ namespace }),
  'topics-create': object({ topic, partitions: int({ min: 0, max: MAX_PARTITIONS }) }),
  'topics-update-partitions': object({ topic, partitions: int({ min: 1, max: MAX_PARTITIONS }) }),
  'topics-delete': object({ topic, force: boolean }),
  'topics-list': object({ namespace }),
  'topics-stats': object({ topic }),
  /** Raft state of each partition of the topic (Pulsar's internalStats). */
  'topics-internal-stats': object({ topic }),
  /** The id of the last message committed in one partition (or non-partitioned topic). */
  'topics-last-message-id': object({ topic }),
  /** Pulsar's triggerCompaction: compacts each partition (a replicated horizon); its leader then builds the view. */
  'topics-compact': object({ topic }),
  /** Pulsar's compactionStatus, per partition. */
  'topics-compaction-status': object({ topic }),
  /** Creates a durable subscription on a partition with its cursor at `position`, with no consumer. */
  'subscriptions-create': object({ topic, subscription: name, position: cursorPositionSchema }),
  /** Deletes a subscription of a partition; with consumers connected only when `force`. */
  'subscriptions-delete': object({ topic, subscription: name, force: boolean }),
  /** Moves a subscription's cursor on a partition (a replicated reset). */
  'subscriptions-move': object({ topic, subscription: name, move: subscriptionMoveSchema }),
  /** The `position`-th (1-based) unacknowledged message of a subscription on a partition. */
  'subscriptions-peek': object({ topic, subscription: name, position: int({ min: 1, max: MAX_PEEK_POSITION }) }),
  'cluster-status': object({}),
  /** Node to node: the Raft status of every group this node hosts (cluster-status gathers it from each node). */
  'node-status': object({}),
  /**
   * Node to node: record a node (a joiner admitted by a member with the cluster secret, or a
   * member whose addresses changed) in the metadata. Accepted only from cluster members.
   */
  'nodes-register': object({ id: nodeId, addresses: array(string({ max: 1024 }), { max: MAX_NODE_ADDRESSES }), zone: nullable(name) }),
  /** Drains a node (`draining`: every replica moves off it, it stays a member) or returns it to service (`active`). */
  'nodes-set-state': object({ id: nodeId, state: literal('active', 'draining') }),
  /** Removes a node from the cluster: refused while it hosts replicas or is a metadata voter, unless `force`. */
  'nodes-remove': object({ id: nodeId, force: boolean }),
  /** Moves one replica of a partition (`topic` names the partition, or a non-partitioned topic) from node `from` to node `to`. */
  'topics-move-replica': object({ topic, from: nodeId, to: nodeId }),
  /** Node to node: a partition's leader reports that its Raft membership now matches the placement after a move. */
  'placements-complete-move': object({ group: topic, to: nodeId }),
  /**
   * Operator force-recovery of a partition that lost its majority for good: rebuilt from one
   * surviving replica (`survivor`, else the reachable replica with the highest commit index);
   * what only the lost replicas held is lost. Refused while the partition has a leader.
   */
  'topics-force-recover': object({ topic, survivor: optional(nodeId) }),
  /** Node to node (from the metadata leader): make this node's replica of `group` its only voter. */
  'partition-force-recover': object({ group: topic })
})
export type ClientRequestBody = Infer<typeof clientRequestBodySchema>
export type ClientRequestType = ClientRequestBody['type']

export const clientRequestSchema = object({ id: requestId, body: clientRequestBodySchema })
export type ClientRequest = Infer<typeof clientRequestSchema>

const partitionLeaderSchema = object({ partition: int({ min: -1, max: MAX_PARTITIONS - 1 }), leader: nullable(nodeId), addresses: array(string({ max: 1024 }), { max: MAX_NODE_ADDRESSES }) })

/**
 * Why dispatch is not progressing (topic stats): the consumer has no flow permits, it (or the
 * subscription) is at its unacked bound, its keys wait for another consumer's unacknowledged
 * batches (Key_Shared draining), everything left is delayed, the partition's leadership is
 * moving, or the subscription has no consumers.
 */
export const DISPATCH_BLOCK_REASONS = ['NO_PERMITS', 'UNACKED_LIMIT', 'KEY_BLOCKED_BY_UNACKED', 'ALL_DELAYED', 'LEADER_MOVING', 'NO_CONSUMERS'] as const
export type DispatchBlockReason = typeof DISPATCH_BLOCK_REASONS[number]
/** Blocked key hashes listed per consumer in stats (the count is exact, the list is cut here). */
export const MAX_BLOCKED_KEY_HASHES_IN_STATS = 100

const blockReason = nullable(literal(...DISPATCH_BLOCK_REASONS))
const oldestUnackedSchema = nullable(object({ messageId: messageIdSchema, ageMs: count }))

const rate = number({ min: 0 })

/** One consumer attached at the partition leader: its dispatch state (the dispatcher's one stats path) and delivery rates. */
const consumerStatsSchema = object({
  consumerName: name,
  /** Flow permits left (negative when a whole batch overdrew them, as Pulsar). */
  permits: int({ min: -MAX_MESSAGES_PER_BATCH, max: Number.MAX_SAFE_INTEGER }),
  unackedMessages: count,
  /** Pulsar's blockedConsumerOnUnackedMsgs: at its (or the subscription's) unacked bound. */
  blockedConsumerOnUnackedMsgs: boolean,
  blockedKeyHashes: array(int({ min: 0, max: 0x7fffffff }), { max: MAX_BLOCKED_KEY_HASHES_IN_STATS }),
  blockedKeyHashCount: count,
  /** Failover/Exclusive: whether this consumer is the one receiving. */
  active: optional(boolean),
  reason: blockReason,
  /** The consumer's earliest-delivered unacknowledged batch and how long it has been out. */
  oldestUnacked: oldestUnackedSchema,
  msgRateOut: optional(rate),
  msgThroughputOut: optional(rate)
})

const subscriptionStatsSchema = object({
  name,
  type: literal(...SUBSCRIPTION_TYPES),
  markDelete: count,
  backlog: count,
  consumers: count,
  /** false: a reader (non-durable). */
  durable: optional(boolean),
  /** Why the subscription's dispatch is not progressing (null: it is, or it has nothing to do). */
  reason: optional(blockReason),
  /** Messages waiting to be redelivered (or parked, Key_Shared). */
  redeliveryQueueMessages: optional(count),
  /** Messages waiting for their delivery time. */
  delayedMessages: optional(count),
  oldestUnacked: optional(oldestUnackedSchema),
  unackedMessages: optional(count),
  msgRateOut: optional(rate),
  msgThroughputOut: optional(rate),
  msgRateRedeliver: optional(rate),
  consumerStats: optional(array(consumerStatsSchema, { max: MAX_LIST_ITEMS }))
})

/** A producer that published to the partition within the rate window, with its rates. */
const publisherStatsSchema = object({ producerName: name, msgRateIn: rate, msgThroughputIn: rate })

const replicaStatusSchema = object({ node: nodeId, matchIndex: nullable(count), lag: nullable(count) })

/**
 * One partition's compaction, as its leader sees it (Pulsar's LongRunningProcessStatus: NOT_RUN
 * before any compaction, RUNNING while the leader builds the view up to `horizon`, SUCCESS once
 * built, ERROR with `lastError`).
 */
const compactionStatusSchema = object({
  group: topic,
  status: literal('NOT_RUN', 'RUNNING', 'SUCCESS', 'ERROR'),
  horizon: count,
  keys: count,
  lastError: optional(string({ max: 4096 }))
})

const partitionInternalStatsSchema = object({
  group: string({ min: 1, max: MAX_TOPIC_NAME_LENGTH }),
  leader: nullable(nodeId),
  term: count,
  commitIndex: count,
  appliedIndex: count,
  lastIndex: count,
  firstRetainedIndex: count,
  retainedMessages: count,
  retainedBytes: count,
  voters: array(nodeId, { max: 16 }),
  learners: array(nodeId, { max: 16 }),
  /** Index of the entry that set `voters` and `learners`: committed once commitIndex reaches it. */
  configIndex: count,
  /** Each replica's replication progress as the leader knows it (lag = leader's last index - match). */
  replicas: array(replicaStatusSchema, { max: 16 }),
  subscriptions: array(object({ name, markDelete: count, ackedRanges: count, generation: count }), { max: MAX_LIST_ITEMS })
})

const groupStatusSchema = object({
  group: string({ min: 1, max: MAX_TOPIC_NAME_LENGTH }),
  leader: nullable(nodeId),
  term: count,
  commitIndex: count,
  appliedIndex: count,
  replicas: array(nodeId, { max: 16 }),
  /** The voting replicas (the others in `replicas` are learners catching up). */
  voters: optional(array(nodeId, { max: 16 })),
  /** The node reporting this row (its own replica's role and indexes). */
  node: optional(nodeId),
  role: optional(literal('follower', 'precandidate', 'candidate', 'leader'))
})

const nodeRecordSchema = object({ id: nodeId, addresses: array(string({ max: 1024 }), { max: MAX_NODE_ADDRESSES }), zone: optional(name), state: literal('active', 'draining', 'down') })

/** The result body for each request type. */
export const clientResultSchemas = {
  lookup: object({ topic, partitions: int({ min: 0, max: MAX_PARTITIONS }), leaders: array(partitionLeaderSchema, { max: MAX_PARTITIONS }) }),
  'create-producer': object({ producerName: name, lastSequenceId: int({ min: -1, max: Number.MAX_SAFE_INTEGER }), maxMessageSize: int({ min: 1, max: MAX_MESSAGE_SIZE_CEILING }) }),
  /**
   * `predecessorIndex`: the log index of the batch the request named as `previousSequenceId`,
   * when that batch was the producer's last stored one (the producer may not know it was stored).
   */
  send: object({ firstSequenceId: count, lastSequenceId: count, messageId: messageIdSchema, duplicate: boolean, predecessorIndex: optional(count) }),
  'close-producer': object({}),
  subscribe: object({}),
  flow: object({}),
  ack: object({}),
  redeliver: object({}),
  seek: object({}),
  /** The outbox positions given (none for messages already acknowledged). */
  'dead-letter': object({ positions: array(count, { max: MAX_DEAD_LETTERS_PER_ENTRY }) }),
  unsubscribe: object({}),
  'get-last-message-id': object({
    /** The last committed message (its batch's last batch index); (partition, 0, -1) when the partition has none. */
    lastMessageId: messageIdSchema,
    /** Every message at or before it is acknowledged by the consumer's subscription (batch index -1: the whole entry). */
    markDeletePosition: messageIdSchema
  }),
  'close-consumer': object({}),
  'tenants-create': object({}),
  'tenants-delete': object({}),
  'tenants-list': object({ tenants: array(name, { max: MAX_LIST_ITEMS }) }),
  'tenants-get': object({ adminRoles: array(name, { max: 1024 }), allowedClusters: array(name, { max: 1024 }) }),
  'tenants-update': object({}),
  'namespaces-create': object({}),
  'namespaces-delete': object({}),
  'namespaces-list': object({ namespaces: array(namespace, { max: MAX_LIST_ITEMS }) }),
  'namespaces-set-policies': object({}),
  'namespaces-get-policies': object({
    replicationFactor: int({ min: 1, max: 7 }),
    autoTopicCreation: boolean,
    defaultNumPartitions: int({ min: 1, max: MAX_PARTITIONS }),
    retentionTimeMinutes: int({ min: -1, max: Number.MAX_SAFE_INTEGER }),
    retentionSizeMB: int({ min: -1, max: Number.MAX_SAFE_INTEGER }),
    deduplication: boolean,
    maxMessageSize: int({ min: 1, max: MAX_MESSAGE_SIZE_CEILING }),
    durability: literal('majority-fsync', 'majority-memory'),
    messageTTLSeconds: messageTTLSecondsSchema,
    backlogQuotas: backlogQuotasSchema,
    compactionThreshold: compactionThresholdSchema
  }),
  'topics-create': object({}),
  'topics-update-partitions': object({}),
  'topics-delete': object({}),
  'topics-list': object({ topics: array(topic, { max: MAX_LIST_ITEMS }) }),
  'topics-stats': object({
    topic,
    partitions: int({ min: 0, max: MAX_PARTITIONS }),
    messagesIn: count,
    bytesIn: count,
    subscriptions: array(subscriptionStatsSchema, { max: MAX_LIST_ITEMS }),
    /** Rates over the leader's sliding window (RATE_WINDOW_MS), per second. */
    msgRateIn: optional(rate),
    msgThroughputIn: optional(rate),
    msgRateOut: optional(rate),
    msgThroughputOut: optional(rate),
    messagesOut: optional(count),
    bytesOut: optional(count),
    retainedBytes: optional(count),
    backlogBytes: optional(count),
    publishers: optional(array(publisherStatsSchema, { max: MAX_LIST_ITEMS })),
    /** For a partitioned topic: each partition's own stats. */
    perPartition: optional(array(plainObject, { max: MAX_PARTITIONS }))
  }),
  'topics-internal-stats': object({ topic, partitions: array(partitionInternalStatsSchema, { max: MAX_PARTITIONS }) }),
  'topics-last-message-id': object({ messageId: nullable(messageIdSchema) }),
  'topics-compact': object({ partitions: array(object({ group: topic, horizon: count }), { max: MAX_PARTITIONS }) }),
  'topics-compaction-status': object({ partitions: array(compactionStatusSchema, { max: MAX_PARTITIONS }) }),
  'subscriptions-create': object({}),
  'subscriptions-delete': object({}),
  'subscriptions-move': object({ markDelete: count }),
  'subscriptions-peek': object({
    messageId: messageIdSchema,
    publishTime: count,
    eventTime: count,
    key: optional(string({ max: MAX_KEY_LENGTH })),
    properties: plainObject,
    payload: bytes({ max: MAX_MESSAGE_SIZE_CEILING }),
    redeliveryCount: count
  }),
  'cluster-status': object({
    leader: nullable(nodeId),
    nodes: array(nodeRecordSchema, { max: MAX_LIST_ITEMS }),
    /** One row per hosted replica (a group appears once per node that hosts it), with `node` set. */
    groups: array(groupStatusSchema, { max: MAX_LIST_ITEMS }),
    /** Replica moves in flight (the placement names `to`; `from` leaves once the Raft membership matches). */
    moves: optional(array(object({ group: topic, from: nullable(nodeId), to: nodeId }), { max: MAX_LIST_ITEMS }))
  }),
  'node-status': object({ node: nodeId, groups: array(groupStatusSchema, { max: MAX_LIST_ITEMS }) }),
  'nodes-register': object({ members: array(nodeRecordSchema, { max: MAX_LIST_ITEMS }) }),
  'nodes-set-state': object({}),
  'nodes-remove': object({}),
  'topics-move-replica': object({}),
  'placements-complete-move': object({}),
  'topics-force-recover': object({ survivor: nodeId, commitIndex: count }),
  'partition-force-recover': object({ commitIndex: count })
} satisfies { [K in ClientRequestType]: Schema<object> }
export type ClientResult<K extends ClientRequestType> = Infer<typeof clientResultSchemas[K]>

const wireErrorSchema = object({ code: string({ max: 128 }), message: string({ max: 65_536 }), details: optional(plainObject) })

/** A response: `result` on success, `error` (a WireError) otherwise. */
export type ClientResponse =
  | { id: number, ok: true, result: Record<string, unknown> }
  | { id: number, ok: false, error: Infer<typeof wireErrorSchema> }

const deliveredEntrySchema = object({
  messageId: messageIdSchema,
  redeliveryCount: count,
  publishTime: count,
  batch: batchEnvelopeSchema,
  /** Batch-index acks: messages of this batch already acknowledged (the client skips them; Pulsar's ack_set). */
  ackedBatchIndexes: optional(array(int({ min: 0, max: MAX_MESSAGES_PER_BATCH - 1 }), { max: MAX_MESSAGES_PER_BATCH }))
})
export type DeliveredEntry = Infer<typeof deliveredEntrySchema>

export const serverPushSchema = union('type', {
  /** Committed batches for a consumer; counts against its permits by messageCount. */
  messages: object({ consumerId: handle, entries: array(deliveredEntrySchema, { max: 10_000 }) }),
  /** The broker closed a producer (leader moved, topic deleted): the client looks the topic up again. */
  'producer-closed': object({ producerId: handle, reason: string({ max: 1024 }) }),
  'consumer-closed': object({ consumerId: handle, reason: string({ max: 1024 }) }),
  'active-consumer-change': object({ consumerId: handle, active: boolean })
})
export type ServerPush = Infer<typeof serverPushSchema>

const responseHeadSchema = object({ id: requestId, ok: boolean })

export function encodeClientRequest (request: ClientRequest): Uint8Array {
  return pack(clientRequestSchema.parse(request))
}

export function decodeClientRequest (bytes: Uint8Array): ClientRequest {
  return unpack(bytes, clientRequestSchema, MAX_CLIENT_MESSAGE_BYTES)
}

export function encodeClientResponse (response: ClientResponse): Uint8Array {
  return pack(response)
}

/**
 * Decodes a response to a request of type `type`: validates the result against that
 * request's result schema, or the error against the wire error shape.
 */
export function decodeClientResponse (bytes: Uint8Array, type: ClientRequestType): ClientResponse {
  const raw = unpack(bytes, { parse: (value) => value as Record<string, unknown> }, MAX_CLIENT_MESSAGE_BYTES)
  const head = responseHeadSchema.parse(raw)
  if (head.ok) {
    const result = (clientResultSchemas[type] as Schema<Record<string, unknown>>).parse(raw.result, '$.result')
    return { id: head.id, ok: true, result }
  }
  return { id: head.id, ok: false, error: wireErrorSchema.parse(raw.error, '$.error') }
}

/** The reply a request handler returns as the transport's response body (the id is the transport's). */
export type ClientReply =
  | { ok: true, result: Record<string, unknown> }
  | { ok: false, error: Infer<typeof wireErrorSchema> }

/** Validates a request body as received from the transport (already msgpack-decoded). */
export function parseClientRequestBody (value: unknown): ClientRequestBody {
  return clientRequestBodySchema.parse(value, '$')
}

/** Validates a reply to a request of type `type` (already msgpack-decoded). */
export function parseClientReply (value: unknown, type: ClientRequestType): ClientReply {
  const head = object({ ok: boolean }).parse(value, '$')
  const raw = value as Record<string, unknown>
  if (head.ok) return { ok: true, result: (clientResultSchemas[type] as Schema<Record<string, unknown>>).parse(raw.result, '$.result') }
  return { ok: false, error: wireErrorSchema.parse(raw.error, '$.error') }
}

/** Validates a server push (already msgpack-decoded). */
export function parseServerPush (value: unknown): ServerPush {
  return serverPushSchema.parse(value, '$')
}

export function encodeServerPush (push: ServerPush): Uint8Array {
  return pack(serverPushSchema.parse(push))
}

export function decodeServerPush (bytes: Uint8Array): ServerPush {
  return unpack(bytes, serverPushSchema, MAX_CLIENT_MESSAGE_BYTES)
}
