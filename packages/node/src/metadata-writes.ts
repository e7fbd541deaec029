// Metadata writes from any node: proposed here when this node leads the metadata group,
// otherwise forwarded to the leader (waiting a bounded time for one to be elected). Forwarded
// writes arriving from another node are proposed here or refused with NOT_LEADER, never
// forwarded again.
import type { MetadataCommand } from '@blazar/broker'
import {
  InvalidArgumentError, NotLeaderError, UnsupportedOperationError, errorToWire, parseNamespaceName, parseTopicName,
  type ClientReply, type ClientRequestBody, type NamespacePoliciesUpdate
} from '@blazar/protocol'
import { forward, ok, type GatewayContext } from './gateway-context.ts'
import { METADATA_GROUP } from './metadata-service.ts'

/** How long a metadata write waits for a metadata leader to be known. */
export const METADATA_LEADER_WAIT_MS = 5000
const LEADER_POLL_MS = 50

type MetadataWriteType = 'tenants-create' | 'tenants-update' | 'tenants-delete' | 'namespaces-create' | 'namespaces-delete' | 'namespaces-set-policies' |
  'topics-create' | 'topics-update-partitions' | 'topics-delete' | 'nodes-register' | 'nodes-set-state' | 'nodes-remove' |
  'topics-move-replica' | 'placements-complete-move'
/** A metadata write request: its body is forwarded as is, its command proposed by the leader. */
export type MetadataWriteBody = Extract<ClientRequestBody, { type: MetadataWriteType }>

/** `forwardable`: false for requests that were already forwarded to this node by another node. */
export async function metadataWrite (context: GatewayContext, forwardable: boolean, body: MetadataWriteBody): Promise<ClientReply> {
  const { metadata } = context
  const command = metadataCommandOf(body)
  if (metadata.isLeader) {
    await metadata.propose(command)
    return ok()
  }
  if (!forwardable) throw new NotLeaderError({ group: METADATA_GROUP, leaderHint: metadata.leaderHint() })
  const leader = await metadataLeader(context)
  if (leader === context.self) {
    await metadata.propose(command)
    return ok()
  }
  try {
    return await forward(context, leader, body)
  } catch (error) {
    return { ok: false, error: errorToWire(new NotLeaderError({ group: METADATA_GROUP, leaderHint: null }, `metadata leader ${leader} unreachable: ${String(error)}`)) }
  }
}

/** The metadata leader, waiting up to METADATA_LEADER_WAIT_MS for an election. */
export async function metadataLeader (context: GatewayContext): Promise<string> {
  const deadline = context.env.clock.now() + METADATA_LEADER_WAIT_MS
  for (;;) {
    const leader = context.metadata.leader()
    if (leader !== null) return leader
    if (context.env.clock.now() >= deadline) throw new NotLeaderError({ group: METADATA_GROUP, leaderHint: null })
    await new Promise<void>((resolve) => { context.env.clock.setTimer(LEADER_POLL_MS, resolve) })
  }
}

/** The metadata command a write request asks for (names in their full form). */
export function metadataCommandOf (body: MetadataWriteBody): MetadataCommand {
  switch (body.type) {
    case 'tenants-create': return { type: 'create-tenant', tenant: body.tenant, adminRoles: body.adminRoles, allowedClusters: body.allowedClusters }
    case 'tenants-update': return { type: 'update-tenant', tenant: body.tenant, adminRoles: body.adminRoles, allowedClusters: body.allowedClusters }
    case 'tenants-delete': return { type: 'delete-tenant', tenant: body.tenant }
    case 'namespaces-create': return { type: 'create-namespace', namespace: parseNamespaceName(body.namespace).full, policies: supportedPolicies(body.type, body.policies) }
    case 'namespaces-delete': return { type: 'delete-namespace', namespace: parseNamespaceName(body.namespace).full }
    case 'namespaces-set-policies': return { type: 'set-namespace-policies', namespace: parseNamespaceName(body.namespace).full, policies: supportedPolicies(body.type, body.policies) }
    case 'topics-create': return { type: 'create-topic', topic: parseTopicName(body.topic).full, partitions: body.partitions }
    case 'topics-update-partitions': return { type: 'update-partitions', topic: parseTopicName(body.topic).full, partitions: body.partitions }
    case 'topics-delete': return { type: 'delete-topic', topic: parseTopicName(body.topic).full }
    case 'nodes-register': return { type: 'register-node', id: body.id, addresses: body.addresses, zone: body.zone }
    case 'nodes-set-state': return { type: 'set-node-state', id: body.id, state: body.state }
    case 'nodes-remove': return body.force ? { type: 'remove-node', id: body.id, force: true } : { type: 'remove-node', id: body.id }
    case 'topics-move-replica': return { type: 'move-replica', group: parseTopicName(body.topic).full, from: body.from, to: body.to }
    case 'placements-complete-move': return { type: 'complete-move', group: body.group, to: body.to }
  }
}

/**
 * The store fsyncs every group on every round; acknowledging before that is not built, and
 * accepting `majority-memory` while still fsyncing would misstate what the namespace gets.
 */
function supportedPolicies<P extends NamespacePoliciesUpdate | undefined> (operation: string, policies: P): P {
  if (policies?.durability === 'majority-memory') {
    throw new UnsupportedOperationError({ operation, reason: 'durability majority-memory is not supported yet; every partition acknowledges after fsync on a majority' })
  }
  return policies
}

/**
 * Refuses (unless forced) to remove a metadata voter when fewer than 3 other active nodes
 * remain to hold the metadata group's voters: the voter actor could not replace it.
 */
export function refuseNeededVoter (context: GatewayContext, body: Extract<ClientRequestBody, { type: 'nodes-remove' }>): void {
  if (body.force || !context.metadata.node.status().config.voters.includes(body.id)) return
  const others = context.metadata.sm.nodes().filter((node) => node.state === 'active' && node.id !== body.id).length
  if (others >= 3) return
  throw new InvalidArgumentError({ argument: 'node', reason: `${body.id} is a metadata voter and only ${others} other active node(s) could replace it: add a node first, or force` })
}
