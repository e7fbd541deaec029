// Consumer requests: subscribe, flow, ack, redeliver, seek, unsubscribe, get-last-message-id,
// close-consumer. A
// consumer is attached at its partition's leader: to the local PartitionReplica, or forwarded
// to the leader's node, whose pushes are relayed under the client's handle. When the
// attachment ends (leadership moved, upstream connection lost) the client is told with
// `consumer-closed` and subscribes again with the same handle.
import {
  ConsumerClosedError, LimitExceededError, errorToWire, type ClientReply, type ClientRequestBody, type ServerPush
} from '@blazar/protocol'
import type { ConsumerRegistry } from './consumer-registry.ts'
import { pushTo } from './consumer-registry.ts'
import { atLeader, ok, type GatewayContext, type NodeFaults } from './gateway-context.ts'
import { MAX_HANDLES_PER_SESSION, attachmentEnded, type ConsumerRecord, type SessionState, type SubscribeAttempt } from './session-state.ts'
import { groupForClient } from './topic-resolution.ts'
import type { Upstream } from './upstreams.ts'

type Body<T extends ClientRequestBody['type']> = Extract<ClientRequestBody, { type: T }>
type ConsumerBody = Body<'flow' | 'ack' | 'redeliver' | 'seek' | 'dead-letter' | 'unsubscribe' | 'get-last-message-id'>

let consumerNames = 0

export async function subscribe (context: GatewayContext, registry: ConsumerRegistry, state: SessionState, body: Body<'subscribe'>): Promise<ClientReply> {
  const attempt: SubscribeAttempt = { closedReason: null, record: null }
  state.subscribeAttempts.set(body.consumerId, attempt)
  let reply: ClientReply
  try {
    reply = await attachConsumer(context, registry, state, body, attempt)
  } catch (error) {
    reply = { ok: false, error: errorToWire(error) }
  } finally {
    if (state.subscribeAttempts.get(body.consumerId) === attempt) state.subscribeAttempts.delete(body.consumerId)
  }
  const record = attempt.record
  if (record?.attempt === attempt) record.attempt = null
  // A record the session no longer holds was closed (or replaced) while this attempt ran.
  const closedReason = attempt.closedReason ?? (record !== null && state.consumers.get(body.consumerId) !== record ? 'replaced by a later subscribe' : null)
  if (reply.ok && closedReason !== null) {
    reply = { ok: false, error: errorToWire(new ConsumerClosedError({ topic: record?.group ?? body.topic, subscription: body.subscription }, `closed while subscribing: ${closedReason}`)) }
  }
  if (!reply.ok && record !== null) forgetConsumer(registry, state, record)
  return reply
}

async function attachConsumer (context: GatewayContext, registry: ConsumerRegistry, state: SessionState, body: Body<'subscribe'>, attempt: SubscribeAttempt): Promise<ClientReply> {
  const group = await groupForClient(context, state, body.topic)
  const existing = state.consumers.get(body.consumerId)
  if (existing !== undefined) registry.detachConsumer(existing)
  else if (state.handles >= MAX_HANDLES_PER_SESSION) {
    throw new LimitExceededError({ limit: 'producers and consumers per session', value: state.handles + 1, max: MAX_HANDLES_PER_SESSION })
  }
  const record: ConsumerRecord = {
    clientId: body.consumerId,
    group,
    subscription: body.subscription,
    type: body.subscriptionType,
    initialPosition: body.initialPosition,
    durable: body.durable,
    startMessageId: body.startMessageId,
    startMessageIdInclusive: body.startMessageIdInclusive,
    readCompacted: body.readCompacted,
    consumerName: body.consumerName ?? existing?.consumerName ?? `${context.self.slice(-8)}-c${++consumerNames}`,
    attachment: null,
    attempt
  }
  attempt.record = record
  state.consumers.set(body.consumerId, record)
  return await atLeader(context, state, group, {
    local: async (partition) => {
      const internalId = registry.attach(state, record)
      record.attachment = { kind: 'local', internalId, partition }
      try {
        await partition.replica.subscribe({
          subscription: record.subscription,
          type: record.type,
          initialPosition: record.initialPosition,
          durable: record.durable,
          startMessageId: record.startMessageId,
          startMessageIdInclusive: record.startMessageIdInclusive,
          readCompacted: record.readCompacted,
          consumer: { consumerId: internalId, consumerName: record.consumerName }
        })
      } catch (error) {
        registry.forget(internalId)
        record.attachment = null
        throw error
      }
      return ok()
    },
    remote: async (node) => {
      const upstream = await context.upstreams.get(node)
      const upstreamId = upstream.allocateHandle()
      record.attachment = { kind: 'remote', upstream, upstreamId }
      upstream.listen(upstreamId, async (push) => { await relay(context, registry, state, record, upstream, push) }, () => {
        if (record.attachment?.kind !== 'remote' || record.attachment.upstream !== upstream) return
        const reason = `connection to the leader ${node} closed`
        if (attachmentEnded(state, record, reason)) pushTo(state, { type: 'consumer-closed', consumerId: record.clientId, reason }, context.env.logger)
      })
      let answer: ClientReply
      try {
        answer = await upstream.request({ ...body, topic: group, consumerId: upstreamId, consumerName: record.consumerName })
      } catch (error) {
        upstream.unlisten(upstreamId)
        record.attachment = null
        throw error
      }
      if (!answer.ok) {
        upstream.unlisten(upstreamId)
        record.attachment = null
      }
      return answer
    }
  })
}

/** flow, ack, redeliver, seek, dead-letter, unsubscribe and get-last-message-id: applied where the consumer is attached. */
export async function consumerRequest (registry: ConsumerRegistry, state: SessionState, body: ConsumerBody, faults?: NodeFaults): Promise<ClientReply> {
  const record = state.consumers.get(body.consumerId)
  const attachment = record?.attachment
  if (record === undefined || attachment === null || attachment === undefined) {
    throw new ConsumerClosedError({ topic: record?.group ?? '', subscription: record?.subscription ?? `handle ${body.consumerId}` })
  }
  if (attachment.kind === 'remote') {
    if (body.type === 'flow' && faults?.dropForwardedFlow === true) return ok()
    const reply = await attachment.upstream.request({ ...body, consumerId: attachment.upstreamId })
    if (reply.ok && body.type === 'unsubscribe') forgetConsumer(registry, state, record)
    return reply
  }
  const replica = attachment.partition.replica
  const id = attachment.internalId
  switch (body.type) {
    case 'flow': replica.flow(id, body.permits); break
    case 'ack': replica.acknowledge(id, body.ackType, body.messageIds); break
    case 'redeliver': replica.redeliver(id, body.messageIds); break
    case 'seek': await replica.seek(id, body.position); break
    case 'dead-letter': return ok(await replica.deadLetter(id, body.messageIds, body.deadLetterTopic))
    case 'unsubscribe':
      await replica.unsubscribe(id)
      forgetConsumer(registry, state, record)
      break
    case 'get-last-message-id': return ok(replica.lastMessageId(id))
  }
  return ok()
}

export function closeConsumer (context: GatewayContext, registry: ConsumerRegistry, state: SessionState, body: Body<'close-consumer'>): ClientReply {
  const attempt = state.subscribeAttempts.get(body.consumerId)
  // The deliberate bug `attachCancelledSubscribe` (test-only): the close of a subscribe in flight is lost.
  if (attempt !== undefined && context.faults?.attachCancelledSubscribe === true) return ok()
  if (attempt !== undefined) attempt.closedReason ??= 'closed by the client'
  const record = state.consumers.get(body.consumerId)
  if (record !== undefined) forgetConsumer(registry, state, record)
  return ok()
}

function forgetConsumer (registry: ConsumerRegistry, state: SessionState, record: ConsumerRecord): void {
  registry.detachConsumer(record)
  if (state.consumers.get(record.clientId) === record) state.consumers.delete(record.clientId)
}

/** A push from the leader's node for a forwarded consumer, passed on under the client's handle. */
async function relay (context: GatewayContext, registry: ConsumerRegistry, state: SessionState, record: ConsumerRecord, upstream: Upstream, push: ServerPush): Promise<void> {
  const attachment = record.attachment
  if (attachment?.kind !== 'remote' || attachment.upstream !== upstream) return
  if (push.type === 'consumer-closed') {
    upstream.unlisten(attachment.upstreamId)
    if (attachmentEnded(state, record, push.reason)) await pushTo(state, { ...push, consumerId: record.clientId }, context.env.logger)
    return
  }
  if (push.type === 'messages' || push.type === 'active-consumer-change') await registry.pushToConsumer(state, record, { ...push, consumerId: record.clientId })
}
