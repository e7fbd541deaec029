// The node's client-facing request handler: validates each request, runs the handler for its
// type, and answers a ClientReply: the result, or the typed error in its wire form (broker
// errors never travel as transport failures). Keeps one SessionState per client session and,
// when a session ends, closes everything it held. Sessions are `/blazar/client/1` streams
// (`handle`), Pulsar protocol connections (`serve`, with requests already built) and the HTTP
// admin session (`serveAdmin`, one for the REST API's requests).
import type { NodeId } from '@blazar/env'
import { InvalidArgumentError, NotLeaderError, UnauthorizedError, errorToWire, parseClientRequestBody, type ClientReply, type ClientRequestBody } from '@blazar/protocol'
import type { ClientRequest } from '@blazar/transport'
import { compactionRequest } from './compaction-handlers.ts'
import { adminRead, clusterStatus, lookup, nodeStatus } from './admin-handlers.ts'
import { forceRecover } from './force-recovery.ts'
import { metadataWrite, refuseNeededVoter } from './metadata-writes.ts'
import { closeConsumer, consumerRequest, subscribe } from './consumer-handlers.ts'
import { ConsumerRegistry } from './consumer-registry.ts'
import { ok, type GatewayContext } from './gateway-context.ts'
import { closeProducer, closeUpstreams, createProducer, send } from './producer-handlers.ts'
import { SessionState, type GatewaySession } from './session-state.ts'
import { subscriptionRequest } from './subscription-handlers.ts'
import { lastMessageId, topicInternalStats, topicStats } from './topic-stats.ts'

/** How long an HTTP admin request retries NOT_LEADER (an election or hand-off) before answering 503. */
export const ADMIN_NOT_LEADER_RETRY_MS = 5000
const ADMIN_RETRY_PAUSE_MS = 100

/** The requests the REST API may make: admin reads and writes, never producers or consumers. */
export const ADMIN_REQUEST_TYPES: ReadonlySet<ClientRequestBody['type']> = new Set([
  'lookup', 'tenants-create', 'tenants-update', 'tenants-delete', 'tenants-list', 'tenants-get',
  'namespaces-create', 'namespaces-delete', 'namespaces-list', 'namespaces-set-policies', 'namespaces-get-policies',
  'topics-create', 'topics-update-partitions', 'topics-delete', 'topics-list', 'topics-stats', 'topics-internal-stats',
  'topics-last-message-id', 'topics-compact', 'topics-compaction-status', 'subscriptions-create', 'subscriptions-delete', 'subscriptions-move', 'subscriptions-peek',
  'cluster-status', 'nodes-set-state', 'nodes-remove', 'topics-move-replica', 'topics-force-recover'
])

export class Gateway {
  readonly consumers: ConsumerRegistry
  private readonly context: GatewayContext
  private readonly isMember: (peer: NodeId) => boolean
  private readonly sessions = new WeakMap<GatewaySession, SessionState>()
  /** The session HTTP admin requests are served in: it holds no producer or consumer, nothing is pushed to it, it never closes. */
  private readonly adminSession: GatewaySession = {
    peer: 'http-admin',
    open: true,
    push: async () => { throw new Error('the HTTP admin session takes no pushes') },
    onClose: () => {}
  }

  constructor (context: GatewayContext, isMember: (peer: NodeId) => boolean) {
    this.context = context
    this.isMember = isMember
    this.consumers = new ConsumerRegistry(context.env.logger.child({ component: 'gateway' }))
  }

  /**
   * Serves an admin request that arrived over HTTP (the REST API translates each call into
   * one): the same handlers as for a client, from a session that holds no producer or consumer.
   */
  async serveAdmin (body: ClientRequestBody): Promise<ClientReply> {
    if (!ADMIN_REQUEST_TYPES.has(body.type)) throw new InvalidArgumentError({ argument: 'type', reason: `${body.type} is not an admin request` })
    const clock = this.context.env.clock
    const deadline = clock.now() + ADMIN_NOT_LEADER_RETRY_MS
    for (;;) {
      const reply = await this.serve(this.adminSession, body)
      // A leader election or hand-off in progress: what @blazar/client's admin API retries too.
      if (reply.ok || reply.error.code !== NotLeaderError.code || clock.now() >= deadline) return reply
      await new Promise<void>((resolve) => { clock.setTimer(ADMIN_RETRY_PAUSE_MS, resolve) })
    }
  }

  /** The transport's request handler: always answers a ClientReply. */
  async handle (request: ClientRequest): Promise<ClientReply> {
    return await this.serve(request.session, request.body)
  }

  /** Validates and serves one request of `session`; always answers a ClientReply (MALFORMED_MESSAGE for a bad body). */
  async serve (session: GatewaySession, body: unknown): Promise<ClientReply> {
    try {
      return await this.dispatch(this.stateOf(session), parseClientRequestBody(body))
    } catch (error) {
      return { ok: false, error: errorToWire(error) }
    }
  }

  private async dispatch (state: SessionState, body: ClientRequestBody): Promise<ClientReply> {
    const context = this.context
    switch (body.type) {
      case 'lookup': return await lookup(context, body)
      case 'create-producer': return await createProducer(context, state, body)
      case 'send': return await send(context, state, body)
      case 'close-producer': return closeProducer(state, body)
      case 'subscribe': return await subscribe(context, this.consumers, state, body)
      case 'flow':
      case 'ack':
      case 'redeliver':
      case 'seek':
      case 'dead-letter':
      case 'unsubscribe':
      case 'get-last-message-id':
        return await consumerRequest(this.consumers, state, body, context.faults)
      case 'close-consumer': return closeConsumer(context, this.consumers, state, body)
      case 'tenants-list':
      case 'tenants-get':
      case 'namespaces-list':
      case 'namespaces-get-policies':
      case 'topics-list':
        return await adminRead(context, body)
      case 'topics-stats': return await topicStats(context, state, body)
      case 'topics-internal-stats': return await topicInternalStats(context, state, body)
      case 'topics-last-message-id': return await lastMessageId(context, state, body)
      case 'topics-compact':
      case 'topics-compaction-status':
        return await compactionRequest(context, state, body)
      case 'subscriptions-create':
      case 'subscriptions-delete':
      case 'subscriptions-move':
      case 'subscriptions-peek':
        return await subscriptionRequest(context, state, body)
      case 'cluster-status': return await clusterStatus(context)
      case 'node-status': return ok(nodeStatus(context))
      case 'nodes-register':
        if (!state.fromMember) throw new UnauthorizedError({ action: 'register', resource: 'nodes (cluster members only; new nodes join with the cluster secret)' })
        return await metadataWrite(context, false, body)
      case 'placements-complete-move':
        if (!state.fromMember) throw new UnauthorizedError({ action: 'complete a move', resource: 'placements (partition leaders only)' })
        return await metadataWrite(context, false, body)
      case 'partition-force-recover':
        if (!state.fromMember) throw new UnauthorizedError({ action: 'force-recover', resource: 'partitions (the metadata leader only)' })
        return ok({ commitIndex: await context.partitions.forceRecover(body.group) })
      case 'topics-force-recover': return await forceRecover(context, !state.fromMember, body)
      case 'nodes-remove':
        refuseNeededVoter(context, body)
        return await metadataWrite(context, !state.fromMember, body)
      default: return await metadataWrite(context, !state.fromMember, body)
    }
  }

  private stateOf (session: GatewaySession): SessionState {
    let state = this.sessions.get(session)
    if (state === undefined) {
      const created = new SessionState(session, this.isMember(session.peer))
      state = created
      this.sessions.set(session, created)
      session.onClose(() => { this.sessionClosed(created) })
    }
    return state
  }

  private sessionClosed (state: SessionState): void {
    for (const record of state.consumers.values()) this.consumers.detachConsumer(record)
    state.consumers.clear()
    for (const record of state.producers.values()) closeUpstreams(record)
    state.producers.clear()
  }
}
