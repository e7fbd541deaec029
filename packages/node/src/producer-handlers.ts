// Producer requests: create-producer, send, close-producer. A producer is bound to its
// partition, not to a node: each send goes to the partition's current leader (served here or
// forwarded, with the producer re-created on the leader's node under the same name, so
// deduplication sees one producer whichever node it came through). A send keeps its
// `previousSequenceId` on every hop: the partition, not the route, keeps a producer's batches
// in send order.
import type { NodeId } from '@blazar/env'
import {
  LimitExceededError, ProducerClosedError, UnsupportedOperationError, type ClientReply, type ClientRequestBody
} from '@blazar/protocol'
import { atLeader, forward, ok, type GatewayContext } from './gateway-context.ts'
import { MAX_HANDLES_PER_SESSION, type ProducerRecord, type SessionState } from './session-state.ts'
import { groupForClient } from './topic-resolution.ts'

type Body<T extends ClientRequestBody['type']> = Extract<ClientRequestBody, { type: T }>

let producerNames = 0

export async function createProducer (context: GatewayContext, state: SessionState, body: Body<'create-producer'>): Promise<ClientReply> {
  if (body.accessMode !== 'Shared') throw new UnsupportedOperationError({ operation: 'create-producer', reason: `access mode ${body.accessMode} is not supported yet (only Shared)` })
  const group = await groupForClient(context, state, body.topic)
  const existing = state.producers.get(body.producerId)
  if (existing === undefined && state.handles >= MAX_HANDLES_PER_SESSION) {
    throw new LimitExceededError({ limit: 'producers and consumers per session', value: state.handles + 1, max: MAX_HANDLES_PER_SESSION })
  }
  const record: ProducerRecord = {
    clientId: body.producerId,
    group,
    producerName: body.producerName ?? `${context.self.slice(-8)}-${++producerNames}`,
    upstreams: new Map()
  }
  const reply = await atLeader(context, state, group, {
    local: async (partition) => {
      // Pulsar refuses a producer on a topic over a producer_exception backlog quota.
      partition.replica.admitProducer()
      return ok({
        producerName: record.producerName,
        lastSequenceId: partition.replica.lastSequenceId(record.producerName),
        maxMessageSize: partition.sm.partitionConfig.maxMessageSize
      })
    },
    remote: async (node) => await bindUpstream(context, record, node, true)
  })
  if (reply.ok) {
    if (existing !== undefined) closeUpstreams(existing)
    state.producers.set(body.producerId, record)
  }
  return reply
}

export async function send (context: GatewayContext, state: SessionState, body: Body<'send'>): Promise<ClientReply> {
  const record = state.producers.get(body.producerId)
  if (record === undefined) throw new ProducerClosedError({ topic: '', producerName: `handle ${body.producerId}` })
  return await atLeader(context, state, record.group, {
    mayHaveApplied: true,
    local: async (partition) => ok(await partition.replica.send(body.batch, body.previousSequenceId)),
    remote: async (node) => {
      const bound = await bindUpstream(context, record, node, false)
      if (!bound.ok) return bound
      const id = record.upstreams.get(node)?.id as number
      const forwarded = forward(context, node, { ...body, producerId: id })
      if (context.faults?.ackForwardedSendEarly === true) return answeredEarly(context, record.group, body, forwarded)
      return await forwarded
    }
  })
}

/**
 * The deliberate bug `ackForwardedSendEarly` (test-only): answers a forwarded send as stored
 * at the index this node's replica would give it next, without waiting for the leader.
 */
function answeredEarly (context: GatewayContext, group: string, body: Body<'send'>, forwarded: Promise<ClientReply>): ClientReply {
  forwarded.catch(() => {})
  const index = (context.partitions.get(group)?.raft.status().lastIndex ?? 0) + 1
  return ok({ firstSequenceId: body.batch.firstSequenceId, lastSequenceId: body.batch.lastSequenceId, messageId: { partition: -1, index, batchIndex: -1 }, duplicate: false })
}

export function closeProducer (state: SessionState, body: Body<'close-producer'>): ClientReply {
  const record = state.producers.get(body.producerId)
  if (record !== undefined) {
    state.producers.delete(body.producerId)
    closeUpstreams(record)
  }
  return ok()
}

export function closeUpstreams (record: ProducerRecord): void {
  for (const { upstream, id } of record.upstreams.values()) {
    if (upstream.connection.open) upstream.connection.request({ type: 'close-producer', producerId: id }).catch(() => {})
  }
  record.upstreams.clear()
}

/**
 * Makes sure the producer exists on `node` (created there under its name); answers the
 * create-producer reply, or `{ ok: true }` when it already existed and `fresh` is false.
 */
async function bindUpstream (context: GatewayContext, record: ProducerRecord, node: NodeId, fresh: boolean): Promise<ClientReply> {
  const bound = record.upstreams.get(node)
  if (!fresh && bound !== undefined && bound.upstream.connection.open) return ok()
  const upstream = await context.upstreams.get(node)
  const id = bound !== undefined && bound.upstream === upstream ? bound.id : upstream.allocateHandle()
  const reply = await forward(context, node, { type: 'create-producer', topic: record.group, producerId: id, producerName: record.producerName, accessMode: 'Shared' })
  if (reply.ok) record.upstreams.set(node, { upstream, id })
  return reply
}
