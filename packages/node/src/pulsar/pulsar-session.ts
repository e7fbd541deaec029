// One Pulsar connection as a gateway session: every command after CONNECT becomes the gateway
// request a /blazar/client/1 client would send (served here when this node leads the
// partition, forwarded to the leader's node otherwise), and the gateway's pushes become
// MESSAGE, CLOSE_CONSUMER, CLOSE_PRODUCER and ACTIVE_CONSUMER_CHANGE frames. Owns the mapping
// between the client's producer and consumer ids (uint64) and the gateway's handles, and the
// per-producer send order: a producer's SENDs are stored and receipted one after another, and
// a send that may succeed on a retry (leadership moved) closes the producer instead of
// failing it, so the client re-creates it and resends everything unreceipted, in order.
import type { Logger } from '@blazar/env'
import type { BatchEnvelope, ClientReply, ClientRequestBody, DeliveredEntry, MessageIdData as BlazarMessageId, ServerPush } from '@blazar/protocol'
import { BlazarError, MAX_IDS_PER_REQUEST, parseTopicName } from '@blazar/protocol'
import {
  bodyOf, commandField, replies, type Command, type CommandInit, type CommandOf, type FramePayload, type Schema, type ServerError
} from '@blazar/pulsar-wire'
import type { GatewaySession } from '../session-state.ts'
import { HandleTable } from './handle-table.ts'
import type { PulsarCounters } from './pulsar-counters.ts'
import { ackSetFor, acknowledgedIds, blazarIdOf, entryIdOf, lastEntryIdOf, positionOf, sendEnvelope } from './pulsar-mapping.ts'
import type { PulsarSettings } from './pulsar-settings.ts'
import { isRetriableSendError, serverErrorOf } from './server-errors.ts'

/** What the session needs from its connection and node. */
export interface PulsarSessionOptions {
  /** Gateway.serve: answers every request with a ClientReply. */
  serve: (session: GatewaySession, body: ClientRequestBody) => Promise<ClientReply>
  /** Writes one command frame (with a stored `[metadataSize][metadata][payload]` body for MESSAGE). */
  write: (command: CommandInit, metadataAndPayload?: Uint8Array) => void
  /** Resolves once the connection can take more bytes. */
  drained: () => Promise<void>
  /** This node's Pulsar service URL, answered to lookups (with proxy_through_service_url). */
  serviceUrl: string
  peer: string
  settings: PulsarSettings
  counters: PulsarCounters
  logger: Logger
}

interface ProducerState {
  handle: number
  /** The gateway accepted the producer and has not closed it since. */
  ready: boolean
  /**
   * Bumped whenever the producer stops being ready: a SEND queued before the broker closed the
   * producer is dropped even if the client re-created it meanwhile (it resends that message).
   */
  epoch: number
  /** The previous SEND's store-and-receipt: the next one starts after it. */
  chain: Promise<void>
}

interface ConsumerState {
  handle: number
}

/** Schema types that carry no schema data a broker would have to check: stored and served as bytes. */
const PLAIN_SCHEMA_TYPES: ReadonlySet<string> = new Set(['None', 'String'])
/** The schema version Blazar answers for plain schemas (Pulsar's versions are 8-byte big-endian longs). */
const PLAIN_SCHEMA_VERSION = new Uint8Array(8)

type Handled = 'served' | 'unsupported' | 'server-only'

export class PulsarSession implements GatewaySession {
  readonly peer: string
  private readonly options: PulsarSessionOptions
  private readonly producers = new HandleTable<ProducerState>()
  private readonly consumers = new HandleTable<ConsumerState>()
  private nextHandle = 1
  private closedWith: Error | undefined
  private readonly closeListeners: Array<(error?: Error) => void> = []

  constructor (options: PulsarSessionOptions) {
    this.options = options
    this.peer = options.peer
  }

  get open (): boolean {
    return this.closedWith === undefined
  }

  get handles (): number {
    return this.producers.size + this.consumers.size
  }

  // ---- GatewaySession ------------------------------------------------------------------

  async push (push: ServerPush): Promise<void> {
    if (this.closedWith !== undefined) throw new Error('pulsar connection closed', { cause: this.closedWith })
    switch (push.type) {
      case 'messages': {
        const consumerId = this.consumers.clientIdOf(push.consumerId)
        if (consumerId === undefined) return
        for (const entry of push.entries) this.writeMessage(consumerId, entry)
        break
      }
      case 'consumer-closed': {
        const consumerId = this.consumers.clientIdOf(push.consumerId)
        if (consumerId === undefined) return
        this.options.logger.info('pulsar consumer closed by the broker', { consumerId: String(consumerId), reason: push.reason })
        this.options.write({ type: 'CLOSE_CONSUMER', close_consumer: { consumer_id: consumerId, request_id: 0 } })
        break
      }
      case 'producer-closed': {
        const producerId = this.producers.clientIdOf(push.producerId)
        if (producerId === undefined) return
        this.closeProducerByBroker(producerId, push.reason)
        break
      }
      case 'active-consumer-change': {
        const consumerId = this.consumers.clientIdOf(push.consumerId)
        if (consumerId === undefined) return
        this.options.write({ type: 'ACTIVE_CONSUMER_CHANGE', active_consumer_change: { consumer_id: consumerId, is_active: push.active } })
        break
      }
    }
    await this.options.drained()
  }

  onClose (listener: (error?: Error) => void): void {
    if (this.closedWith !== undefined) listener(this.closedWith)
    else this.closeListeners.push(listener)
  }

  /** The connection ended: the gateway closes everything this session held. */
  closed (error: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error
    for (const producer of this.producers.values()) stopProducer(producer)
    for (const listener of this.closeListeners.splice(0)) {
      try { listener(error) } catch { /* one listener must not stop the others */ }
    }
  }

  // ---- commands ------------------------------------------------------------------------

  /**
   * Serves one command received after CONNECT and answers what it did with it. A typed error
   * (a Blazar error: a bad name, a message id Blazar never gave out) becomes the command's
   * ERROR reply; anything else is a bug and propagates (the connection closes).
   */
  async handle (command: Command, payload: FramePayload | undefined): Promise<Handled> {
    try {
      return await this.serveCommand(command, payload)
    } catch (error) {
      if (!(error instanceof BlazarError)) throw error
      const requestId = requestIdOf(command)
      this.countError(error.code)
      if (requestId !== undefined) this.options.write(replies.error(requestId, serverErrorOf(error.code), error.message))
      else this.options.logger.info('pulsar command refused', { type: command.type, error: error.message })
      return 'served'
    }
  }

  private async serveCommand (command: Command, payload: FramePayload | undefined): Promise<Handled> {
    switch (command.type) {
      case 'PING': this.options.write(replies.pong()); return 'served'
      case 'PONG': return 'served'
      case 'PARTITIONED_METADATA': await this.partitionedMetadata(command); return 'served'
      case 'LOOKUP': this.lookup(command); return 'served'
      case 'PRODUCER': await this.producer(command); return 'served'
      case 'SEND': await this.send(command, payload); return 'served'
      case 'CLOSE_PRODUCER': await this.closeProducer(command); return 'served'
      case 'SUBSCRIBE': await this.subscribe(command); return 'served'
      case 'FLOW': await this.flow(command); return 'served'
      case 'ACK': await this.ack(command); return 'served'
      case 'REDELIVER_UNACKNOWLEDGED_MESSAGES': await this.redeliver(command); return 'served'
      case 'SEEK': await this.seek(command); return 'served'
      case 'UNSUBSCRIBE': await this.unsubscribe(command); return 'served'
      case 'CLOSE_CONSUMER': await this.closeConsumer(command); return 'served'
      case 'GET_LAST_MESSAGE_ID': await this.getLastMessageId(command); return 'served'
      case 'GET_TOPICS_OF_NAMESPACE': await this.topicsOfNamespace(command); return 'served'
      case 'GET_SCHEMA': this.getSchema(command); return 'served'
      case 'GET_OR_CREATE_SCHEMA': this.getOrCreateSchema(command); return 'served'
      case 'CONNECT':
      case 'CONNECTED':
      case 'SEND_RECEIPT':
      case 'SEND_ERROR':
      case 'MESSAGE':
      case 'SUCCESS':
      case 'ERROR':
      case 'PRODUCER_SUCCESS':
      case 'PARTITIONED_METADATA_RESPONSE':
      case 'LOOKUP_RESPONSE':
      case 'CONSUMER_STATS_RESPONSE':
      case 'REACHED_END_OF_TOPIC':
      case 'GET_LAST_MESSAGE_ID_RESPONSE':
      case 'ACTIVE_CONSUMER_CHANGE':
      case 'GET_TOPICS_OF_NAMESPACE_RESPONSE':
      case 'GET_SCHEMA_RESPONSE':
      case 'AUTH_CHALLENGE':
      case 'ACK_RESPONSE':
      case 'GET_OR_CREATE_SCHEMA_RESPONSE':
      case 'NEW_TXN_RESPONSE':
      case 'ADD_PARTITION_TO_TXN_RESPONSE':
      case 'ADD_SUBSCRIPTION_TO_TXN_RESPONSE':
      case 'END_TXN_RESPONSE':
      case 'END_TXN_ON_PARTITION_RESPONSE':
      case 'END_TXN_ON_SUBSCRIPTION_RESPONSE':
      case 'TC_CLIENT_CONNECT_RESPONSE':
      case 'WATCH_TOPIC_LIST_SUCCESS':
      case 'WATCH_TOPIC_UPDATE':
      case 'TOPIC_MIGRATED':
        return 'server-only'
      default:
        this.unsupported(command)
        return 'unsupported'
    }
  }

  private async partitionedMetadata (command: CommandOf<'PARTITIONED_METADATA'>): Promise<void> {
    const body = bodyOf(command, 'PARTITIONED_METADATA')
    const reply = await this.options.serve(this, { type: 'lookup', topic: body.topic })
    if (reply.ok) {
      this.options.write(replies.partitionedMetadata(body.request_id, (reply.result as { partitions: number }).partitions))
      return
    }
    // A topic that does not exist yet is non-partitioned (Pulsar's default): the producer or
    // consumer that follows creates it where the namespace allows, or fails with TopicNotFound.
    if (reply.error.code === 'UNKNOWN_TOPIC') {
      this.options.write(replies.partitionedMetadata(body.request_id, 0))
      return
    }
    this.countError(reply.error.code)
    this.options.write(replies.partitionedMetadataFailed(body.request_id, serverErrorOf(reply.error.code), reply.error.message))
  }

  /** Every node serves every topic (forwarding to the leader), so a lookup always names this node. */
  private lookup (command: CommandOf<'LOOKUP'>): void {
    const body = bodyOf(command, 'LOOKUP')
    try {
      parseTopicName(body.topic)
    } catch (error) {
      this.countError('INVALID_TOPIC_NAME')
      this.options.write(replies.lookupFailed(body.request_id, 'InvalidTopicName', (error as Error).message))
      return
    }
    this.options.write(replies.lookupConnect({ requestId: body.request_id, brokerServiceUrl: this.options.serviceUrl, proxyThroughServiceUrl: true }))
  }

  private async producer (command: CommandOf<'PRODUCER'>): Promise<void> {
    const body = bodyOf(command, 'PRODUCER')
    const state = this.handleFor(this.producers, body.producer_id, body.request_id, body.schema, (handle) => ({ handle, ready: false, epoch: 0, chain: Promise.resolve() }))
    if (state === null) return
    const reply = await this.options.serve(this, {
      type: 'create-producer',
      topic: body.topic,
      producerId: state.handle,
      ...(body.producer_name === undefined || body.producer_name === '' ? {} : { producerName: body.producer_name }),
      accessMode: body.producer_access_mode
    })
    if (!reply.ok) {
      if (!state.ready) this.forgetProducer(body.producer_id)
      this.replyError(body.request_id, serverErrorOf(reply.error.code), reply.error.message, reply.error.code)
      return
    }
    state.ready = true
    const result = reply.result as { producerName: string, lastSequenceId: number }
    this.options.write(replies.producerSuccess({
      requestId: body.request_id,
      producerName: result.producerName,
      lastSequenceId: result.lastSequenceId,
      ...(body.schema === undefined ? {} : { schemaVersion: PLAIN_SCHEMA_VERSION })
    }))
  }

  /**
   * Queues a SEND behind the producer's earlier ones; resolves when it is receipted (so the
   * connection's bound on commands in flight bounds the sends queued too).
   */
  private async send (command: CommandOf<'SEND'>, payload: FramePayload | undefined): Promise<void> {
    const body = bodyOf(command, 'SEND')
    const state = this.producers.get(body.producer_id)
    if (state === undefined) {
      this.countError('PRODUCER_CLOSED')
      this.options.write(replies.sendError({ producerId: body.producer_id, sequenceId: body.sequence_id, error: 'UnknownError', message: `no producer ${body.producer_id} on this connection` }))
      return
    }
    if (!state.ready) {
      // The broker closed this producer: the client re-creates it and resends every message
      // without a receipt, in order, so this one is not lost by being dropped here.
      this.options.logger.debug('SEND for a producer the broker closed; the client resends it after re-creating the producer', { producerId: String(body.producer_id) })
      return
    }
    const epoch = state.epoch
    const stored = state.chain.then(async () => { await this.storeAndReceipt(body, payload, state, epoch) })
    state.chain = stored
    await stored
  }

  private async storeAndReceipt (body: CommandOf<'SEND'>['send'], payload: FramePayload | undefined, state: ProducerState, epoch: number): Promise<void> {
    const current = (): boolean => state.ready && state.epoch === epoch && this.producers.get(body.producer_id) === state
    if (!current()) return
    let batch: BatchEnvelope
    try {
      if (payload === undefined) throw new Error('SEND without metadata and payload')
      batch = sendEnvelope(body, payload)
    } catch (error) {
      this.countError('MALFORMED_MESSAGE')
      this.options.write(replies.sendError({ producerId: body.producer_id, sequenceId: body.sequence_id, error: 'NotAllowedError', message: (error as Error).message }))
      return
    }
    const reply = await this.options.serve(this, { type: 'send', producerId: state.handle, batch })
    if (!current()) return
    if (reply.ok) {
      const result = reply.result as { messageId: { partition: number, index: number, batchIndex: number }, duplicate: boolean }
      this.options.write(replies.sendReceipt({
        producerId: body.producer_id,
        sequenceId: body.sequence_id,
        messageId: result.duplicate ? lastEntryIdOf({ partition: result.messageId.partition, index: 0, batchIndex: -1 }) : entryIdOf(result.messageId),
        highestSequenceId: highestOf(body.sequence_id, body.highest_sequence_id)
      }))
      return
    }
    this.countError(reply.error.code)
    if (isRetriableSendError(reply.error.code)) {
      this.closeProducerByBroker(body.producer_id, `send failed: ${reply.error.message}`)
      return
    }
    this.options.write(replies.sendError({ producerId: body.producer_id, sequenceId: body.sequence_id, error: serverErrorOf(reply.error.code), message: reply.error.message }))
  }

  /** Closes a producer from the broker's side: the client re-creates it (a new lookup) and resends. */
  private closeProducerByBroker (producerId: bigint, reason: string): void {
    const state = this.producers.get(producerId)
    if (state === undefined || !state.ready) return
    stopProducer(state)
    this.options.logger.info('pulsar producer closed by the broker', { producerId: String(producerId), reason })
    this.options.serve(this, { type: 'close-producer', producerId: state.handle }).catch(() => {})
    this.options.write({ type: 'CLOSE_PRODUCER', close_producer: { producer_id: producerId, request_id: 0 } })
  }

  private async closeProducer (command: CommandOf<'CLOSE_PRODUCER'>): Promise<void> {
    const body = bodyOf(command, 'CLOSE_PRODUCER')
    const state = this.forgetProducer(body.producer_id)
    if (state !== undefined) await this.options.serve(this, { type: 'close-producer', producerId: state.handle })
    this.options.write(replies.success(body.request_id))
  }

  private forgetProducer (producerId: bigint): ProducerState | undefined {
    const state = this.producers.remove(producerId)
    if (state !== undefined) stopProducer(state)
    return state
  }

  /**
   * The handle a PRODUCER or SUBSCRIBE names: the existing one on a retry, else a new one; null
   * (refused, answered on `requestId`) for a schema Blazar cannot serve or beyond
   * maxHandlesPerConnection.
   */
  private handleFor<S extends { handle: number }> (table: HandleTable<S>, clientId: bigint, requestId: bigint, schema: Schema | undefined, make: (handle: number) => S): S | null {
    const refusal = schemaRefusal(schema)
    if (refusal !== null) {
      this.replyError(requestId, 'IncompatibleSchema', refusal)
      return null
    }
    const existing = table.get(clientId)
    if (existing !== undefined) return existing
    const limit = this.options.settings.maxHandlesPerConnection
    if (this.handles >= limit) {
      this.replyError(requestId, 'TooManyRequests', `at most ${limit} producers and consumers per connection`)
      return null
    }
    return table.add(clientId, make(this.nextHandle++))
  }

  private async subscribe (command: CommandOf<'SUBSCRIBE'>): Promise<void> {
    const body = bodyOf(command, 'SUBSCRIBE')
    const state = this.handleFor(this.consumers, body.consumer_id, body.request_id, body.schema, (handle) => ({ handle }))
    if (state === null) return
    // A reader (non-durable) names where it starts. Delivery starts at that message: the
    // official clients skip it themselves unless the reader is inclusive.
    const start = body.durable || body.start_message_id === undefined ? null : positionOf(body.start_message_id)
    const reply = await this.options.serve(this, {
      type: 'subscribe',
      topic: body.topic,
      subscription: body.subscription,
      consumerId: state.handle,
      ...(body.consumer_name === undefined || body.consumer_name === '' ? {} : { consumerName: body.consumer_name }),
      subscriptionType: body.subType,
      initialPosition: start === null ? body.initialPosition : start.at === 'latest' ? 'Latest' : 'Earliest',
      durable: body.durable,
      ...(body.read_compacted === true ? { readCompacted: true } : {}),
      ...(start?.at === 'message'
        ? { startMessageId: { partition: body.start_message_id?.partition ?? -1, index: start.index, batchIndex: start.batchIndex }, startMessageIdInclusive: true }
        : {})
    })
    if (!reply.ok) {
      this.consumers.remove(body.consumer_id)
      this.replyError(body.request_id, serverErrorOf(reply.error.code), reply.error.message, reply.error.code)
      return
    }
    this.options.write(replies.success(body.request_id))
  }

  private async flow (command: CommandOf<'FLOW'>): Promise<void> {
    const body = bodyOf(command, 'FLOW')
    await this.consumerRequest(body.consumer_id, (consumerId) => ({ type: 'flow', consumerId, permits: Math.min(body.messagePermits, 1_000_000) }))
  }

  private async ack (command: CommandOf<'ACK'>): Promise<void> {
    const body = bodyOf(command, 'ACK')
    const messageIds = body.message_id.flatMap((id) => acknowledgedIds(id, body.ack_type))
    let failure: { code: string, message: string } | null = null
    for (let at = 0; at < messageIds.length && failure === null; at += MAX_IDS_PER_REQUEST) {
      const chunk = messageIds.slice(at, at + MAX_IDS_PER_REQUEST)
      const reply = await this.consumerRequest(body.consumer_id, (consumerId) => ({ type: 'ack', consumerId, ackType: body.ack_type, messageIds: chunk }))
      if (reply !== null && !reply.ok) failure = reply.error
    }
    if (body.request_id === undefined) return
    this.options.write({
      type: 'ACK_RESPONSE',
      ackResponse: {
        consumer_id: body.consumer_id,
        request_id: body.request_id,
        ...(failure === null ? {} : { error: serverErrorOf(failure.code), message: failure.message })
      }
    })
  }

  private async redeliver (command: CommandOf<'REDELIVER_UNACKNOWLEDGED_MESSAGES'>): Promise<void> {
    const body = bodyOf(command, 'REDELIVER_UNACKNOWLEDGED_MESSAGES')
    const messageIds = body.message_ids.map((id) => blazarIdOf(id))
    await this.consumerRequest(body.consumer_id, (consumerId) => ({ type: 'redeliver', consumerId, ...(messageIds.length === 0 ? {} : { messageIds }) }))
  }

  private async seek (command: CommandOf<'SEEK'>): Promise<void> {
    const body = bodyOf(command, 'SEEK')
    const position = body.message_id !== undefined
      ? positionOf(body.message_id)
      : body.message_publish_time !== undefined
        ? { at: 'publishTime' as const, publishTime: Number(body.message_publish_time) }
        : null
    if (position === null) {
      this.replyError(body.request_id, 'NotAllowedError', 'SEEK needs a message_id or a message_publish_time')
      return
    }
    const reply = await this.consumerRequest(body.consumer_id, (consumerId) => ({ type: 'seek', consumerId, position }))
    if (reply === null) {
      this.replyError(body.request_id, 'ConsumerNotFound', `no consumer ${body.consumer_id} on this connection`)
      return
    }
    if (!reply.ok) {
      this.replyError(body.request_id, serverErrorOf(reply.error.code), reply.error.message, reply.error.code)
      return
    }
    // As a Pulsar broker does on a reset: the consumer is closed before the seek is answered, so
    // the client drops what it had queued from before the seek, subscribes again at the new
    // position, and completes the seek once it has (the C++ client relies on this order).
    const state = this.consumers.get(body.consumer_id)
    if (state !== undefined) {
      await this.options.serve(this, { type: 'close-consumer', consumerId: state.handle })
      this.options.write({ type: 'CLOSE_CONSUMER', close_consumer: { consumer_id: body.consumer_id, request_id: 0 } })
    }
    this.options.write(replies.success(body.request_id))
  }

  private async unsubscribe (command: CommandOf<'UNSUBSCRIBE'>): Promise<void> {
    const body = bodyOf(command, 'UNSUBSCRIBE')
    const reply = await this.consumerRequest(body.consumer_id, (consumerId) => ({ type: 'unsubscribe', consumerId }))
    if (reply === null) {
      this.replyError(body.request_id, 'ConsumerNotFound', `no consumer ${body.consumer_id} on this connection`)
      return
    }
    if (!reply.ok) {
      this.replyError(body.request_id, serverErrorOf(reply.error.code), reply.error.message, reply.error.code)
      return
    }
    this.consumers.remove(body.consumer_id)
    this.options.write(replies.success(body.request_id))
  }

  private async closeConsumer (command: CommandOf<'CLOSE_CONSUMER'>): Promise<void> {
    const body = bodyOf(command, 'CLOSE_CONSUMER')
    const state = this.consumers.remove(body.consumer_id)
    if (state !== undefined) await this.options.serve(this, { type: 'close-consumer', consumerId: state.handle })
    this.options.write(replies.success(body.request_id))
  }

  /** A consumer request for the client's consumer `consumerId`; null when this connection has no such consumer. */
  private async consumerRequest (consumerId: bigint, build: (handle: number) => ClientRequestBody): Promise<ClientReply | null> {
    const state = this.consumers.get(consumerId)
    if (state === undefined) return null
    const reply = await this.options.serve(this, build(state.handle))
    if (!reply.ok) this.countError(reply.error.code)
    return reply
  }

  private async getLastMessageId (command: CommandOf<'GET_LAST_MESSAGE_ID'>): Promise<void> {
    const body = bodyOf(command, 'GET_LAST_MESSAGE_ID')
    const reply = await this.consumerRequest(body.consumer_id, (consumerId) => ({ type: 'get-last-message-id', consumerId }))
    if (reply === null) {
      this.replyError(body.request_id, 'ConsumerNotFound', `no consumer ${body.consumer_id} on this connection`)
      return
    }
    if (!reply.ok) {
      this.replyError(body.request_id, serverErrorOf(reply.error.code), reply.error.message, reply.error.code)
      return
    }
    const result = reply.result as { lastMessageId: BlazarMessageId, markDeletePosition: BlazarMessageId }
    this.options.write({
      type: 'GET_LAST_MESSAGE_ID_RESPONSE',
      getLastMessageIdResponse: {
        request_id: body.request_id,
        last_message_id: lastEntryIdOf(result.lastMessageId),
        consumer_mark_delete_position: lastEntryIdOf(result.markDeletePosition)
      }
    })
  }

  private async topicsOfNamespace (command: CommandOf<'GET_TOPICS_OF_NAMESPACE'>): Promise<void> {
    const body = bodyOf(command, 'GET_TOPICS_OF_NAMESPACE')
    const reply = await this.options.serve(this, { type: 'topics-list', namespace: body.namespace })
    if (!reply.ok) {
      this.replyError(body.request_id, serverErrorOf(reply.error.code), reply.error.message, reply.error.code)
      return
    }
    const topics: string[] = []
    for (const topic of (reply.result as { topics: string[] }).topics) {
      const lookup = await this.options.serve(this, { type: 'lookup', topic })
      const partitions = lookup.ok ? (lookup.result as { partitions: number }).partitions : 0
      if (partitions === 0) topics.push(topic)
      else for (let i = 0; i < partitions; i++) topics.push(`${topic}-partition-${i}`)
    }
    let matching = topics
    if (body.topics_pattern !== undefined) {
      let pattern: RegExp
      try {
        pattern = new RegExp(`^(?:${body.topics_pattern})$`)
      } catch (error) {
        this.replyError(body.request_id, 'NotAllowedError', `bad topics_pattern: ${(error as Error).message}`)
        return
      }
      matching = topics.filter((topic) => pattern.test(topic))
    }
    this.options.write({
      type: 'GET_TOPICS_OF_NAMESPACE_RESPONSE',
      getTopicsOfNamespaceResponse: { request_id: body.request_id, topics: matching, filtered: body.topics_pattern !== undefined, changed: true }
    })
  }

  /** Blazar keeps no schema registry: a topic has no schema, which clients read as bytes. */
  private getSchema (command: CommandOf<'GET_SCHEMA'>): void {
    const body = bodyOf(command, 'GET_SCHEMA')
    this.options.write({
      type: 'GET_SCHEMA_RESPONSE',
      getSchemaResponse: { request_id: body.request_id, error_code: 'TopicNotFound', error_message: `no schema stored for ${body.topic} (Blazar stores bytes and string payloads without a schema registry)` }
    })
  }

  private getOrCreateSchema (command: CommandOf<'GET_OR_CREATE_SCHEMA'>): void {
    const body = bodyOf(command, 'GET_OR_CREATE_SCHEMA')
    const refusal = schemaRefusal(body.schema)
    this.options.write({
      type: 'GET_OR_CREATE_SCHEMA_RESPONSE',
      getOrCreateSchemaResponse: refusal === null
        ? { request_id: body.request_id, schema_version: PLAIN_SCHEMA_VERSION }
        : { request_id: body.request_id, error_code: 'IncompatibleSchema', error_message: refusal }
    })
  }

  /** A command a Pulsar client may send that Blazar does not implement: Pulsar's own error reply. */
  private unsupported (command: Command): void {
    const message = `${command.type} is not supported by Blazar`
    const requestId = requestIdOf(command)
    this.countError('NotAllowedError')
    if (requestId !== undefined) this.options.write(replies.error(requestId, 'NotAllowedError', message))
    this.options.logger.info('unsupported pulsar command', { type: command.type, peer: this.peer })
  }

  private replyError (requestId: bigint, error: ServerError, message: string, blazarCode?: string): void {
    this.countError(blazarCode ?? error)
    this.options.write(replies.error(requestId, error, message))
  }

  private countError (code: string): void {
    this.options.counters.errorReply(code)
  }

  /** One stored entry as a MESSAGE frame: the stored body verbatim. */
  private writeMessage (consumerId: bigint, entry: DeliveredEntry): void {
    const ackSet = ackSetFor(entry)
    this.options.write(
      replies.message({ consumerId, messageId: entryIdOf(entry.messageId), redeliveryCount: entry.redeliveryCount, ...(ackSet === undefined ? {} : { ackSet }) }),
      entry.batch.body
    )
  }
}

/** The request id a command carries, if it is one that expects an answer. */
function requestIdOf (command: Command): bigint | undefined {
  const body = (command as unknown as Record<string, unknown>)[commandField(command.type)] as { request_id?: unknown } | undefined
  return typeof body?.request_id === 'bigint' ? body.request_id : undefined
}

/** Why a schema cannot be accepted, or null for the plain ones (bytes, string) and none. */
function schemaRefusal (schema: Schema | undefined): string | null {
  if (schema === undefined || PLAIN_SCHEMA_TYPES.has(schema.type)) return null
  return `schema type ${schema.type} is not supported: Blazar has no schema registry (bytes and string schemas only)`
}

/** The batch's highest sequence id (highest_sequence_id is 0 when the client did not set it). */
function highestOf (sequenceId: bigint, highestSequenceId: bigint): bigint {
  return highestSequenceId > sequenceId ? highestSequenceId : sequenceId
}


function stopProducer (state: ProducerState): void {
  state.ready = false
  state.epoch++
}
