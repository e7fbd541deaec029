// How Blazar's typed errors answer over the admin REST API: Pulsar's status code for the same
// condition and Pulsar's error body `{"reason": "..."}` (what pulsar-admin and the Go admin
// library read). One table; every error code a request can answer is in it.
import type { ClientReply } from '@blazar/protocol'

type WireError = Extract<ClientReply, { ok: false }>['error']

const STATUS_OF_CODE: Record<string, number> = {
  UNKNOWN_TOPIC: 404,
  UNKNOWN_TENANT: 404,
  UNKNOWN_NAMESPACE: 404,
  UNKNOWN_SUBSCRIPTION: 404,
  UNKNOWN_NODE: 404,
  TOPIC_ALREADY_EXISTS: 409,
  TENANT_ALREADY_EXISTS: 409,
  NAMESPACE_ALREADY_EXISTS: 409,
  SUBSCRIPTION_ALREADY_EXISTS: 409,
  NODE_ALREADY_EXISTS: 409,
  TENANT_NOT_EMPTY: 409,
  NAMESPACE_NOT_EMPTY: 409,
  CONSUMER_BUSY: 412,
  INVALID_PARTITION_COUNT: 412,
  NOT_ENOUGH_NODES: 412,
  LIMIT_EXCEEDED: 412,
  INVALID_ARGUMENT: 400,
  INVALID_NAME: 400,
  INVALID_TOPIC_NAME: 400,
  MALFORMED_MESSAGE: 400,
  MESSAGE_TOO_LARGE: 400,
  UNSUPPORTED_OPERATION: 405,
  UNSUPPORTED_COMPRESSION: 405,
  UNAUTHORIZED: 403,
  NOT_LEADER: 503,
  TIMEOUT: 503,
  BACKPRESSURE: 503,
  OUTCOME_UNKNOWN: 503
}

/** Pulsar's HTTP status for a Blazar error code (500 for anything unexpected). */
export function statusOfError (code: string): number {
  return STATUS_OF_CODE[code] ?? 500
}

export class RestError extends Error {
  readonly status: number
  constructor (status: number, reason: string) {
    super(reason)
    this.name = 'RestError'
    this.status = status
  }

  static of (error: WireError): RestError {
    return new RestError(statusOfError(error.code), `${error.code}: ${error.message}`)
  }
}

/** The result of a reply, or the RestError it answers. */
export function resultOf (reply: ClientReply): Record<string, unknown> {
  if (!reply.ok) throw RestError.of(reply.error)
  return reply.result
}
