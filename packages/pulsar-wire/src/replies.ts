// Builders for the commands a broker sends, with Pulsar's conventions built in (the version
// negotiation, proxy_through_service_url on lookups, ServerError codes). Each returns a
// CommandInit for encodeCommand / encodePayloadFrame.
import { command, type CommandInitOf } from './command.ts'
import { MAX_PROTOCOL_VERSION } from './limits.ts'
import type { FeatureFlagsInit, MessageIdDataInit, SchemaInit, ServerError } from './pulsar-api.ts'

type Id = bigint | number

/** Pulsar's rule: the broker answers the lower of the client's protocol version and its own. */
export function negotiateProtocolVersion (clientVersion: number, serverVersion = MAX_PROTOCOL_VERSION): number {
  return Math.max(0, Math.min(clientVersion, serverVersion))
}

export function connected (options: {
  serverVersion: string
  /** The version negotiated with negotiateProtocolVersion. */
  protocolVersion: number
  /** Advertised to clients, which then refuse larger messages themselves. */
  maxMessageSize: number
  featureFlags?: FeatureFlagsInit
}): CommandInitOf<'CONNECTED'> {
  const body: CommandInitOf<'CONNECTED'>['connected'] = {
    server_version: options.serverVersion,
    protocol_version: options.protocolVersion,
    max_message_size: options.maxMessageSize
  }
  if (options.featureFlags !== undefined) body.feature_flags = options.featureFlags
  return command('CONNECTED', body)
}

export const ping = (): CommandInitOf<'PING'> => command('PING', {})
export const pong = (): CommandInitOf<'PONG'> => command('PONG', {})

export function success (requestId: Id, schema?: SchemaInit): CommandInitOf<'SUCCESS'> {
  return command('SUCCESS', schema === undefined ? { request_id: requestId } : { request_id: requestId, schema })
}

export function error (requestId: Id, code: ServerError, message: string): CommandInitOf<'ERROR'> {
  return command('ERROR', { request_id: requestId, error: code, message })
}

export function producerSuccess (options: {
  requestId: Id
  producerName: string
  /** The last sequence id stored from this producer name, -1 for none. */
  lastSequenceId: Id
  schemaVersion?: Uint8Array
  topicEpoch?: Id
}): CommandInitOf<'PRODUCER_SUCCESS'> {
  const body: CommandInitOf<'PRODUCER_SUCCESS'>['producer_success'] = {
    request_id: options.requestId,
    producer_name: options.producerName,
    last_sequence_id: options.lastSequenceId,
    producer_ready: true
  }
  if (options.schemaVersion !== undefined) body.schema_version = options.schemaVersion
  if (options.topicEpoch !== undefined) body.topic_epoch = options.topicEpoch
  return command('PRODUCER_SUCCESS', body)
}

export function sendReceipt (options: {
  producerId: Id
  sequenceId: Id
  messageId: MessageIdDataInit
  highestSequenceId?: Id
}): CommandInitOf<'SEND_RECEIPT'> {
  const body: CommandInitOf<'SEND_RECEIPT'>['send_receipt'] = {
    producer_id: options.producerId,
    sequence_id: options.sequenceId,
    message_id: options.messageId
  }
  if (options.highestSequenceId !== undefined) body.highest_sequence_id = options.highestSequenceId
  return command('SEND_RECEIPT', body)
}

export function sendError (options: { producerId: Id, sequenceId: Id, error: ServerError, message: string }): CommandInitOf<'SEND_ERROR'> {
  return command('SEND_ERROR', {
    producer_id: options.producerId, sequence_id: options.sequenceId, error: options.error, message: options.message
  })
}

/**
 * A successful lookup. `proxyThroughServiceUrl: true` (the default) makes official clients keep
 * the connection they dialled, which is what "any node serves" needs.
 */
export function lookupConnect (options: {
  requestId: Id
  brokerServiceUrl: string
  authoritative?: boolean
  proxyThroughServiceUrl?: boolean
}): CommandInitOf<'LOOKUP_RESPONSE'> {
  return command('LOOKUP_RESPONSE', {
    request_id: options.requestId,
    response: 'Connect',
    brokerServiceUrl: options.brokerServiceUrl,
    authoritative: options.authoritative ?? true,
    proxy_through_service_url: options.proxyThroughServiceUrl ?? true
  })
}

/** Tells the client to look the topic up again at another broker. */
export function lookupRedirect (options: { requestId: Id, brokerServiceUrl: string, authoritative?: boolean }): CommandInitOf<'LOOKUP_RESPONSE'> {
  return command('LOOKUP_RESPONSE', {
    request_id: options.requestId,
    response: 'Redirect',
    brokerServiceUrl: options.brokerServiceUrl,
    authoritative: options.authoritative ?? false
  })
}

export function lookupFailed (requestId: Id, code: ServerError, message: string): CommandInitOf<'LOOKUP_RESPONSE'> {
  return command('LOOKUP_RESPONSE', { request_id: requestId, response: 'Failed', error: code, message })
}

/** `partitions` is 0 for a non-partitioned topic. */
export function partitionedMetadata (requestId: Id, partitions: number): CommandInitOf<'PARTITIONED_METADATA_RESPONSE'> {
  return command('PARTITIONED_METADATA_RESPONSE', { request_id: requestId, response: 'Success', partitions })
}

export function partitionedMetadataFailed (requestId: Id, code: ServerError, message: string): CommandInitOf<'PARTITIONED_METADATA_RESPONSE'> {
  return command('PARTITIONED_METADATA_RESPONSE', { request_id: requestId, response: 'Failed', error: code, message })
}

/** The command of a MESSAGE frame; send it with encodePayloadFrame(message(...), storedBody). */
export function message (options: {
  consumerId: Id
  messageId: MessageIdDataInit
  redeliveryCount?: number
  /** Batch indexes still unacknowledged, as Pulsar's BitSet words (absent: all of them). */
  ackSet?: ReadonlyArray<Id>
  consumerEpoch?: Id
}): CommandInitOf<'MESSAGE'> {
  const body: CommandInitOf<'MESSAGE'>['message'] = {
    consumer_id: options.consumerId,
    message_id: options.messageId,
    redelivery_count: options.redeliveryCount ?? 0
  }
  if (options.ackSet !== undefined) body.ack_set = options.ackSet
  if (options.consumerEpoch !== undefined) body.consumer_epoch = options.consumerEpoch
  return command('MESSAGE', body)
}
