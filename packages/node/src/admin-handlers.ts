// Admin reads and lookup: tenants, namespaces (and their policies), topics, lookup, and the
// cluster's status gathered from every node (topic stats are in topic-stats.ts). Writes go through the
// metadata leader (metadataWrite); reads are served from this node's metadata replica after a
// read barrier, so they see every write acknowledged before them.
import { groupsOfTopic } from '@blazar/broker'
import {
  UnknownTenantError, UnknownTopicError, parseNamespaceName, parseTopicName, type ClientReply, type ClientRequestBody, type ClientResult
} from '@blazar/protocol'
import { ok, type GatewayContext } from './gateway-context.ts'
import { METADATA_GROUP } from './metadata-service.ts'
import { findTopic } from './topic-resolution.ts'

type Body<T extends ClientRequestBody['type']> = Extract<ClientRequestBody, { type: T }>

/** How long cluster-status waits for each node's answer. */
export const NODE_STATUS_TIMEOUT_MS = 2000

export async function adminRead (context: GatewayContext, body: Body<'tenants-list' | 'tenants-get' | 'namespaces-list' | 'namespaces-get-policies' | 'topics-list'>): Promise<ClientReply> {
  await context.metadata.barrier()
  const sm = context.metadata.sm
  switch (body.type) {
    case 'tenants-list': return ok({ tenants: sm.tenants() })
    case 'tenants-get': {
      const tenant = sm.tenant(body.tenant)
      if (tenant === undefined) throw new UnknownTenantError({ tenant: body.tenant })
      return ok({ adminRoles: tenant.adminRoles, allowedClusters: tenant.allowedClusters })
    }
    case 'namespaces-get-policies': return ok(sm.namespacePolicies(parseNamespaceName(body.namespace).full))
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
    groups: rows.flat().sort((a, b) => a.group === b.group ? (a.node ?? '').localeCompare(b.node ?? '') : a.group === METADATA_GROUP ? -1 : b.group === METADATA_GROUP ? 1 : a.group.localeCompare(b.group)),
    moves: context.metadata.sm.moves().map(([group, move]) => ({ group, ...move }))
  })
}
