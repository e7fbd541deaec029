// Admin and lookup requests: tenants, namespaces, topics (create, list, delete, partitions,
// stats), lookup, and the cluster's status gathered from every node. Writes go through the
// metadata leader (metadataWrite); reads are served from this node's metadata replica after a
// read barrier, so they see every write acknowledged before them.
import { groupsOfTopic } from '@blazar/broker'
import {
  UnknownTopicError, parseNamespaceName, parseTopicName, type ClientReply, type ClientRequestBody, type ClientResult
} from '@blazar/protocol'
import type { ConsumerRegistry } from './consumer-registry.ts'
import { atLeader, forward, ok, type GatewayContext } from './gateway-context.ts'
import { METADATA_GROUP } from './metadata-service.ts'
import type { SessionState } from './session-state.ts'
import { findTopic } from './topic-resolution.ts'

type Body<T extends ClientRequestBody['type']> = Extract<ClientRequestBody, { type: T }>

/** How long cluster-status waits for each node's answer. */
export const NODE_STATUS_TIMEOUT_MS = 2000

export async function adminRead (context: GatewayContext, body: Body<'tenants-list' | 'namespaces-list' | 'topics-list'>): Promise<ClientReply> {
  await context.metadata.barrier()
  const sm = context.metadata.sm
  switch (body.type) {
    case 'tenants-list': return ok({ tenants: sm.tenants() })
    case 'namespaces-list': return ok({ namespaces: sm.namespaces(body.tenant) })
    case 'topics-list': return ok({ topics: sm.topics(parseNamespaceName(body.namespace).full) })
  }
}

export async function lookup (context: GatewayContext, body: Body<'lookup'>): Promise<ClientReply> {
  const name = parseTopicName(body.topic)
  const record = await findTopic(context, name)
  if (record === undefined) throw new UnknownTopicError({ topic: name.full })
  const leaders = groupsOfTopic(record).map((group, i) => {
    const leader = context.router.leaderOf(group)
    return { partition: record.partitions === 0 ? -1 : i, leader, addresses: leader === null ? [] : context.metadata.sm.node(leader)?.addresses ?? [] }
  })
  return ok({ topic: record.name, partitions: record.partitions, leaders })
}

/** Stats of one partition (at its leader) or, for a partitioned topic, summed over its partitions. */
export async function topicStats (context: GatewayContext, registry: ConsumerRegistry, state: SessionState, body: Body<'topics-stats'>): Promise<ClientReply> {
  const name = parseTopicName(body.topic)
  const record = await findTopic(context, name)
  if (record === undefined) throw new UnknownTopicError({ topic: name.full })
  if (record.partitions === 0 || name.partitionIndex >= 0) return await partitionStats(context, registry, state, name.full)
  const parts = await Promise.all(groupsOfTopic(record).map(async (group) => await partitionStats(context, registry, state, group)))
  const total: ClientResult<'topics-stats'> = { topic: record.name, partitions: record.partitions, messagesIn: 0, bytesIn: 0, subscriptions: [] }
  for (const part of parts) {
    if (!part.ok) return part
    const stats = part.result as ClientResult<'topics-stats'>
    total.messagesIn += stats.messagesIn
    total.bytesIn += stats.bytesIn
    for (const sub of stats.subscriptions) {
      const same = total.subscriptions.find((s) => s.name === sub.name)
      if (same === undefined) total.subscriptions.push({ ...sub, markDelete: 0 })
      else {
        same.backlog += sub.backlog
        same.consumers += sub.consumers
        same.reason = same.reason ?? sub.reason
        same.consumerStats = [...same.consumerStats ?? [], ...sub.consumerStats ?? []]
      }
    }
  }
  return ok(total)
}

async function partitionStats (context: GatewayContext, registry: ConsumerRegistry, state: SessionState, group: string): Promise<ClientReply> {
  return await atLeader(context, state, group, {
    local: async ({ sm, replica }) => {
      const stats = sm.stats()
      const dispatchOf = (name: string) => {
        const dispatch = replica.subscriptionStats(name)
        return {
          durable: dispatch.durable,
          reason: dispatch.reason,
          redeliveryQueueMessages: dispatch.redeliveryQueueMessages,
          delayedMessages: dispatch.delayedMessages,
          oldestUnacked: dispatch.oldestUnacked,
          consumerStats: dispatch.consumers.map(({ consumerId: _, ...consumer }) => consumer)
        }
      }
      const durable = sm.subscriptions().map((cursor) => ({
        name: cursor.subscription,
        type: cursor.type,
        markDelete: cursor.markDelete,
        backlog: sm.backlog(cursor.subscription),
        consumers: registry.count(group, cursor.subscription),
        ...dispatchOf(cursor.subscription)
      }))
      const readers = replica.readers().map((name) => {
        const dispatch = dispatchOf(name)
        return { name, type: replica.subscriptionStats(name).type, markDelete: 0, backlog: replica.subscriptionStats(name).pendingMessages, consumers: dispatch.consumerStats.length, ...dispatch }
      })
      return ok({ topic: group, partitions: 0, messagesIn: stats.messagesIn, bytesIn: stats.bytesIn, subscriptions: [...durable, ...readers] })
    },
    remote: async (node) => await forward(context, node, { type: 'topics-stats', topic: group })
  })
}

/** This node's row for every group it hosts. */
export function nodeStatus (context: GatewayContext): ClientResult<'node-status'> {
  return {
    node: context.self,
    groups: context.host.statuses().map((status) => ({
      group: status.group,
      leader: status.leader,
      term: status.term,
      commitIndex: status.commitIndex,
      appliedIndex: status.appliedIndex,
      replicas: [...status.config.voters, ...status.config.learners],
      voters: status.config.voters,
      node: context.self,
      role: status.role
    }))
  }
}

/** Nodes from the metadata, and every reachable node's group rows (unreachable nodes are left out). */
export async function clusterStatus (context: GatewayContext): Promise<ClientReply> {
  const nodes = context.metadata.sm.nodes()
  const rows = await Promise.all(nodes.map(async (node) => {
    if (node.id === context.self) return nodeStatus(context).groups
    try {
      const reply = await (await context.upstreams.get(node.id)).request({ type: 'node-status' }, NODE_STATUS_TIMEOUT_MS)
      return reply.ok ? (reply.result as ClientResult<'node-status'>).groups : []
    } catch {
      return []
    }
  }))
  return ok({
    leader: context.metadata.leader(),
    nodes: nodes.map((node) => ({ id: node.id, addresses: node.addresses, zone: node.zone ?? undefined, state: node.state })),
    groups: rows.flat().sort((a, b) => a.group === b.group ? (a.node ?? '').localeCompare(b.node ?? '') : a.group === METADATA_GROUP ? -1 : b.group === METADATA_GROUP ? 1 : a.group.localeCompare(b.group))
  })
}
