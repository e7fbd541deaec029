// What every request handler of the gateway works with: this node's services, and the two
// ways a request reaches its group's leader: served here, or forwarded to the leader's node
// following leader hints (bounded hops). Requests that arrived forwarded from another node are
// never forwarded again, so a stale guess cannot make requests circle between nodes.
import type { Env, NodeId } from '@blazar/env'
import { NotLeaderError, OutcomeUnknownError, type ClientReply, type ClientRequestBody } from '@blazar/protocol'
import type { GroupHost } from './group-host.ts'
import { MAX_FORWARD_HOPS, type LeaderRouter } from './leader-router.ts'
import type { MetadataService } from './metadata-service.ts'
import type { HostedPartition, PartitionService } from './partition-service.ts'
import type { SessionState } from './session-state.ts'
import { UpstreamUnavailableError, type UpstreamPool } from './upstreams.ts'

/** Test-only deliberate gateway bugs: each must be caught by the simulator's node workload. */
export interface NodeFaults {
  /** A forwarded send is answered as stored as soon as it is forwarded, before the leader answered. */
  ackForwardedSendEarly?: boolean
  /** A close-consumer for a subscribe in flight is lost: the subscribe the client cancelled still attaches and stays attached. */
  attachCancelledSubscribe?: boolean
  /** Issue 15 bug 4 put back: a topic lookup this node cannot check (its metadata barrier failed) answers UNKNOWN_TOPIC. */
  unknownTopicWhenBehind?: boolean
  /** Issue 15 bug 3 put back: flow permits of a consumer attached through this node at another node's leader are not passed on. */
  dropForwardedFlow?: boolean
}

export interface GatewayContext {
  env: Env
  self: NodeId
  host: GroupHost
  metadata: MetadataService
  partitions: PartitionService
  router: LeaderRouter
  upstreams: UpstreamPool
  /** Called for every request forwarded to another node (metrics). */
  onForward?: (type: ClientRequestBody['type']) => void
  faults?: NodeFaults
}

export function ok (result: object = {}): ClientReply {
  return { ok: true, result: result as Record<string, unknown> }
}

/** Sends `body` to `node` and validates the reply. Rejects only on transport failure. */
export async function forward (context: GatewayContext, node: NodeId, body: ClientRequestBody): Promise<ClientReply> {
  context.onForward?.(body.type)
  return await (await context.upstreams.get(node)).request(body)
}

export interface RouteHandlers {
  local: (partition: HostedPartition) => Promise<ClientReply>
  /** Forwards to `node`; rejects on transport failure. */
  remote: (node: NodeId) => Promise<ClientReply>
  /** Whether a transport failure during `remote` may have left the request applied (a send). */
  mayHaveApplied?: boolean
}

/**
 * Serves a request for `group` where its leader is: locally, or forwarded, following
 * NOT_LEADER hints for at most MAX_FORWARD_HOPS hops. Answers NOT_LEADER when no leader is
 * known (the client retries after a fresh lookup).
 */
export async function atLeader (context: GatewayContext, state: SessionState, group: string, handlers: RouteHandlers): Promise<ClientReply> {
  let hint: NodeId | null = null
  for (let hop = 0; hop <= MAX_FORWARD_HOPS; hop++) {
    const route = context.router.route(group)
    if (route.kind === 'local') return await handlers.local(route.partition)
    if (route.kind === 'unknown') break
    hint = route.node
    if (state.fromMember) break
    let reply: ClientReply
    try {
      reply = await handlers.remote(route.node)
    } catch (error) {
      if (handlers.mayHaveApplied === true && !(error instanceof UpstreamUnavailableError)) {
        throw new OutcomeUnknownError({ operation: 'send', reason: `connection to ${route.node} failed: ${String(error)}` })
      }
      context.router.learn(group, context.router.nextReplica(group, route.node))
      continue
    }
    if (!reply.ok && reply.error.code === NotLeaderError.code) {
      const leaderHint = (reply.error.details as { leaderHint?: string | null } | undefined)?.leaderHint ?? null
      context.router.learn(group, leaderHint ?? context.router.nextReplica(group, route.node))
      hint = leaderHint
      if (leaderHint === null) break
      continue
    }
    context.router.learn(group, route.node)
    return reply
  }
  throw new NotLeaderError({ group, leaderHint: hint === context.self ? null : hint })
}
