// Every error Blazar reports to a user, one class per error with a stable name and code, and
// the conversion to and from the wire: `errorToWire` and `errorFromWire` give back an instance
// of the same class with the same details (an unknown code becomes UnknownError).
import { BlazarError, defineError, errorClassFor, type ErrorDetails, type WireError } from './error-base.ts'
import { MalformedMessageError, int, nullable, object, optional, string, type Schema } from './schema.ts'


const text = string({ max: 4096 })
const count = int({ min: -1, max: Number.MAX_SAFE_INTEGER })

function details<D extends ErrorDetails> (schema: Schema<D>): (raw: ErrorDetails) => D {
  return (raw) => schema.parse(raw, '$.details')
}

export const UnknownTopicError = defineError<{ topic: string }>({
  name: 'UnknownTopicError', code: 'UNKNOWN_TOPIC',
  describe: (d) => `topic ${d.topic} does not exist`,
  parseDetails: details(object({ topic: text }))
})

export const InvalidTopicNameError = defineError<{ topic: string, reason: string }>({
  name: 'InvalidTopicNameError', code: 'INVALID_TOPIC_NAME',
  describe: (d) => `invalid topic name ${JSON.stringify(d.topic)}: ${d.reason}`,
  parseDetails: details(object({ topic: text, reason: text }))
})

export const InvalidNameError = defineError<{ kind: string, name: string, reason: string }>({
  name: 'InvalidNameError', code: 'INVALID_NAME',
  describe: (d) => `invalid ${d.kind} name ${JSON.stringify(d.name)}: ${d.reason}`,
  parseDetails: details(object({ kind: text, name: text, reason: text }))
})

export const MessageTooLargeError = defineError<{ size: number, maxMessageSize: number }>({
  name: 'MessageTooLargeError', code: 'MESSAGE_TOO_LARGE',
  describe: (d) => `message of ${d.size} bytes exceeds maxMessageSize ${d.maxMessageSize}`,
  parseDetails: details(object({ size: count, maxMessageSize: count }))
})

export const LimitExceededError = defineError<{ limit: string, value: number, max: number }>({
  name: 'LimitExceededError', code: 'LIMIT_EXCEEDED',
  describe: (d) => `${d.limit}: ${d.value} exceeds the limit of ${d.max}`,
  parseDetails: details(object({ limit: text, value: count, max: count }))
})

export const ProducerClosedError = defineError<{ topic: string, producerName: string }>({
  name: 'ProducerClosedError', code: 'PRODUCER_CLOSED',
  describe: (d) => `producer ${d.producerName} on ${d.topic} is closed`,
  parseDetails: details(object({ topic: text, producerName: text }))
})

export const ConsumerClosedError = defineError<{ topic: string, subscription: string }>({
  name: 'ConsumerClosedError', code: 'CONSUMER_CLOSED',
  describe: (d) => `consumer of ${d.subscription} on ${d.topic} is closed`,
  parseDetails: details(object({ topic: text, subscription: text }))
})

export const ProducerBusyError = defineError<{ topic: string, producerName: string }>({
  name: 'ProducerBusyError', code: 'PRODUCER_BUSY',
  describe: (d) => `producer ${d.producerName} is already connected to ${d.topic}`,
  parseDetails: details(object({ topic: text, producerName: text }))
})

export const ConsumerBusyError = defineError<{ topic: string, subscription: string }>({
  name: 'ConsumerBusyError', code: 'CONSUMER_BUSY',
  describe: (d) => `exclusive consumer is already connected to ${d.subscription} on ${d.topic}`,
  parseDetails: details(object({ topic: text, subscription: text }))
})

export const UnknownSubscriptionError = defineError<{ topic: string, subscription: string }>({
  name: 'UnknownSubscriptionError', code: 'UNKNOWN_SUBSCRIPTION',
  describe: (d) => `subscription ${d.subscription} does not exist on ${d.topic}`,
  parseDetails: details(object({ topic: text, subscription: text }))
})

export const SubscriptionAlreadyExistsError = defineError<{ topic: string, subscription: string }>({
  name: 'SubscriptionAlreadyExistsError', code: 'SUBSCRIPTION_ALREADY_EXISTS',
  describe: (d) => `subscription ${d.subscription} already exists on ${d.topic}`,
  parseDetails: details(object({ topic: text, subscription: text }))
})

export const TimeoutError = defineError<{ operation: string, timeoutMs: number }>({
  name: 'TimeoutError', code: 'TIMEOUT',
  describe: (d) => `${d.operation} timed out after ${d.timeoutMs} ms`,
  parseDetails: details(object({ operation: text, timeoutMs: count }))
})

export const NotLeaderError = defineError<{ group: string, leaderHint: string | null }>({
  name: 'NotLeaderError', code: 'NOT_LEADER',
  describe: (d) => `not the leader of ${d.group}` + (d.leaderHint === null ? '' : `; try ${d.leaderHint}`),
  parseDetails: details(object({ group: text, leaderHint: nullable(text) }))
})

export const UnauthorizedError = defineError<{ action: string, resource: string }>({
  name: 'UnauthorizedError', code: 'UNAUTHORIZED',
  describe: (d) => `not authorized to ${d.action} ${d.resource}`,
  parseDetails: details(object({ action: text, resource: text }))
})

export const TopicAlreadyExistsError = defineError<{ topic: string }>({
  name: 'TopicAlreadyExistsError', code: 'TOPIC_ALREADY_EXISTS',
  describe: (d) => `topic ${d.topic} already exists`,
  parseDetails: details(object({ topic: text }))
})

export const UnknownTenantError = defineError<{ tenant: string }>({
  name: 'UnknownTenantError', code: 'UNKNOWN_TENANT',
  describe: (d) => `tenant ${d.tenant} does not exist`,
  parseDetails: details(object({ tenant: text }))
})

export const TenantAlreadyExistsError = defineError<{ tenant: string }>({
  name: 'TenantAlreadyExistsError', code: 'TENANT_ALREADY_EXISTS',
  describe: (d) => `tenant ${d.tenant} already exists`,
  parseDetails: details(object({ tenant: text }))
})

export const TenantNotEmptyError = defineError<{ tenant: string, namespaces: number }>({
  name: 'TenantNotEmptyError', code: 'TENANT_NOT_EMPTY',
  describe: (d) => `tenant ${d.tenant} still has ${d.namespaces} namespace(s)`,
  parseDetails: details(object({ tenant: text, namespaces: count }))
})

export const UnknownNamespaceError = defineError<{ namespace: string }>({
  name: 'UnknownNamespaceError', code: 'UNKNOWN_NAMESPACE',
  describe: (d) => `namespace ${d.namespace} does not exist`,
  parseDetails: details(object({ namespace: text }))
})

export const NamespaceAlreadyExistsError = defineError<{ namespace: string }>({
  name: 'NamespaceAlreadyExistsError', code: 'NAMESPACE_ALREADY_EXISTS',
  describe: (d) => `namespace ${d.namespace} already exists`,
  parseDetails: details(object({ namespace: text }))
})

export const NamespaceNotEmptyError = defineError<{ namespace: string, topics: number }>({
  name: 'NamespaceNotEmptyError', code: 'NAMESPACE_NOT_EMPTY',
  describe: (d) => `namespace ${d.namespace} still has ${d.topics} topic(s)`,
  parseDetails: details(object({ namespace: text, topics: count }))
})

export const InvalidPartitionCountError = defineError<{ topic: string, current: number, requested: number }>({
  name: 'InvalidPartitionCountError', code: 'INVALID_PARTITION_COUNT',
  describe: (d) => `topic ${d.topic}: partitions can only grow (${d.current} → ${d.requested} refused)`,
  parseDetails: details(object({ topic: text, current: count, requested: count }))
})

export const UnknownNodeError = defineError<{ node: string }>({
  name: 'UnknownNodeError', code: 'UNKNOWN_NODE',
  describe: (d) => `node ${d.node} is not a cluster member`,
  parseDetails: details(object({ node: text }))
})

export const NodeAlreadyExistsError = defineError<{ node: string }>({
  name: 'NodeAlreadyExistsError', code: 'NODE_ALREADY_EXISTS',
  describe: (d) => `node ${d.node} is already a cluster member`,
  parseDetails: details(object({ node: text }))
})

export const NotEnoughNodesError = defineError<{ required: number, available: number }>({
  name: 'NotEnoughNodesError', code: 'NOT_ENOUGH_NODES',
  describe: (d) => `placement needs ${d.required} nodes but only ${d.available} are available`,
  parseDetails: details(object({ required: count, available: count }))
})

export const InvalidArgumentError = defineError<{ argument: string, reason: string }>({
  name: 'InvalidArgumentError', code: 'INVALID_ARGUMENT',
  describe: (d) => `invalid ${d.argument}: ${d.reason}`,
  parseDetails: details(object({ argument: text, reason: text }))
})

export const UnsupportedOperationError = defineError<{ operation: string, reason: string }>({
  name: 'UnsupportedOperationError', code: 'UNSUPPORTED_OPERATION',
  describe: (d) => `${d.operation} is not supported: ${d.reason}`,
  parseDetails: details(object({ operation: text, reason: text }))
})

export const UnsupportedCompressionError = defineError<{ compression: string }>({
  name: 'UnsupportedCompressionError', code: 'UNSUPPORTED_COMPRESSION',
  describe: (d) => `no codec registered for compression ${d.compression}`,
  parseDetails: details(object({ compression: text }))
})

export const BackpressureError = defineError<{ resource: string, limit: number }>({
  name: 'BackpressureError', code: 'BACKPRESSURE',
  describe: (d) => `${d.resource} is full (limit ${d.limit}); retry later`,
  parseDetails: details(object({ resource: text, limit: count }))
})

export const OutcomeUnknownError = defineError<{ operation: string, reason: string }>({
  name: 'OutcomeUnknownError', code: 'OUTCOME_UNKNOWN',
  describe: (d) => `${d.operation} may or may not have taken effect: ${d.reason}`,
  parseDetails: details(object({ operation: text, reason: text }))
})

/**
 * The node cannot tell yet (its metadata replica is behind and the read barrier failed: no
 * metadata leader, a read timeout). Never a definite answer: nothing took effect, retry.
 */
export const MetadataUnavailableError = defineError<{ reason: string }>({
  name: 'MetadataUnavailableError', code: 'METADATA_UNAVAILABLE',
  describe: (d) => `cluster metadata cannot be read on this node yet (${d.reason}); retry`,
  parseDetails: details(object({ reason: text }))
})

/**
 * A producer batch that names an earlier batch of the same producer (`previousSequenceId`) the
 * partition has not stored yet: storing it now would put it ahead of that batch. Nothing was
 * stored; the producer resends its unacknowledged batches in order.
 */
export const OutOfOrderSequenceError = defineError<{ producerName: string, previousSequenceId: number, lastSequenceId: number }>({
  name: 'OutOfOrderSequenceError', code: 'OUT_OF_ORDER_SEQUENCE',
  describe: (d) => `producer ${d.producerName}: the batch after sequence id ${d.previousSequenceId} arrived before it (last stored: ${d.lastSequenceId})`,
  parseDetails: details(object({ producerName: text, previousSequenceId: count, lastSequenceId: count }))
})

/**
 * A send refused because the partition's backlog is over a quota whose policy is
 * `producer_exception` (Pulsar's ProducerBlockedQuotaExceededException). Nothing was stored;
 * it goes on failing until the subscriptions catch up (or the quota is raised).
 */
export const ProducerBlockedQuotaExceededError = defineError<{ topic: string, quota: string, value: number, limit: number }>({
  name: 'ProducerBlockedQuotaExceededError', code: 'PRODUCER_BLOCKED_QUOTA_EXCEEDED',
  describe: (d) => `${d.topic}: backlog ${d.quota} quota exceeded (${d.value} > ${d.limit}); sends are refused until it is back under the quota`,
  parseDetails: details(object({ topic: text, quota: text, value: count, limit: count }))
})

/**
 * A send held because the backlog is over a `producer_request_hold` quota was not released
 * within the hold time (Pulsar's ProducerBlockedQuotaExceededError). Nothing was stored;
 * retry later.
 */
export const ProducerHeldQuotaExceededError = defineError<{ topic: string, quota: string, heldMs: number }>({
  name: 'ProducerHeldQuotaExceededError', code: 'PRODUCER_HELD_QUOTA_EXCEEDED',
  describe: (d) => `${d.topic}: backlog ${d.quota} quota exceeded; the send was held ${d.heldMs} ms and not released`,
  parseDetails: details(object({ topic: text, quota: text, heldMs: count }))
})

/** An error whose code this build does not know (a newer peer); keeps the original code. */
export const UnknownError = defineError<{ originalCode: string, details?: string }>({
  name: 'UnknownError', code: 'UNKNOWN_ERROR',
  describe: (d) => `error ${d.originalCode}`,
  parseDetails: details(object({ originalCode: text, details: optional(string({ max: 65_536 })) }))
})

const wireErrorSchema = object({
  code: string({ max: 128 }),
  message: string({ max: 65_536 })
})

/** The wire form of any thrown value; non-Blazar errors become UNKNOWN_ERROR with their message. */
export function errorToWire (error: unknown): WireError {
  if (error instanceof BlazarError) return error.toWire()
  const message = error instanceof Error ? error.message : String(error)
  return new UnknownError({ originalCode: 'INTERNAL' }, message).toWire()
}

/**
 * Rebuilds the error a peer sent: same class, same details. Bad input gives a
 * MalformedMessageError; an unknown code gives UnknownError. Never throws.
 */
export function errorFromWire (value: unknown): BlazarError {
  try {
    const head = wireErrorSchema.parse(value, '$')
    const raw = (value as { details?: unknown }).details
    const rawDetails: ErrorDetails = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw as ErrorDetails : {}
    const ErrorClass = errorClassFor(head.code)
    if (ErrorClass === undefined) {
      return new UnknownError({ originalCode: head.code, details: safeJson(rawDetails) }, head.message)
    }
    return new ErrorClass(ErrorClass.spec.parseDetails(rawDetails), head.message)
  } catch (error) {
    if (error instanceof BlazarError) return error
    return new MalformedMessageError({ path: '$', reason: String(error) })
  }
}

function safeJson (value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 65_536)
  } catch {
    return '<unserializable>'
  }
}
