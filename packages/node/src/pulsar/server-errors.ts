// Blazar's typed errors as Pulsar's ServerError codes: what a Pulsar client sees in ERROR,
// SEND_ERROR and the error fields of lookup and schema responses. The mapping follows what a
// Pulsar broker answers in the same situation, so the clients' own handling applies (for
// example ServiceNotReady makes them retry, TopicNotFound does not).
import type { ServerError } from '@blazar/pulsar-wire'

const SERVER_ERRORS: Record<string, ServerError> = {
  UNKNOWN_TOPIC: 'TopicNotFound',
  UNKNOWN_NAMESPACE: 'TopicNotFound',
  UNKNOWN_TENANT: 'TopicNotFound',
  INVALID_TOPIC_NAME: 'InvalidTopicName',
  INVALID_NAME: 'InvalidTopicName',
  CONSUMER_BUSY: 'ConsumerBusy',
  PRODUCER_BUSY: 'ProducerBusy',
  UNKNOWN_SUBSCRIPTION: 'SubscriptionNotFound',
  CONSUMER_CLOSED: 'ConsumerNotFound',
  UNAUTHORIZED: 'AuthorizationError',
  NOT_LEADER: 'ServiceNotReady',
  TIMEOUT: 'ServiceNotReady',
  OUTCOME_UNKNOWN: 'ServiceNotReady',
  NOT_ENOUGH_NODES: 'ServiceNotReady',
  UPSTREAM_UNAVAILABLE: 'ServiceNotReady',
  BACKPRESSURE: 'TooManyRequests',
  LIMIT_EXCEEDED: 'TooManyRequests',
  MESSAGE_TOO_LARGE: 'NotAllowedError',
  UNSUPPORTED_OPERATION: 'NotAllowedError',
  UNSUPPORTED_COMPRESSION: 'NotAllowedError',
  INVALID_ARGUMENT: 'NotAllowedError',
  MALFORMED_MESSAGE: 'NotAllowedError',
  PRODUCER_CLOSED: 'UnknownError',
  PRODUCER_BLOCKED_QUOTA_EXCEEDED: 'ProducerBlockedQuotaExceededException',
  PRODUCER_HELD_QUOTA_EXCEEDED: 'ProducerBlockedQuotaExceededError'
}

/** The ServerError for a Blazar error code (UnknownError for codes without a Pulsar counterpart). */
export function serverErrorOf (code: string): ServerError {
  return SERVER_ERRORS[code] ?? 'UnknownError'
}

/**
 * Errors after which a send may succeed on a retry once the client reconnects (leadership
 * moved, the cluster is busy, a held send's backlog quota is still exceeded: as a Pulsar broker
 * disconnects the producers of a topic over a producer_request_hold quota).
 */
const RETRIABLE_SEND_ERRORS: ReadonlySet<string> = new Set([
  'NOT_LEADER', 'TIMEOUT', 'OUTCOME_UNKNOWN', 'NOT_ENOUGH_NODES', 'UPSTREAM_UNAVAILABLE', 'BACKPRESSURE', 'PRODUCER_CLOSED', 'PRODUCER_HELD_QUOTA_EXCEEDED'
])

export function isRetriableSendError (code: string): boolean {
  return RETRIABLE_SEND_ERRORS.has(code)
}
