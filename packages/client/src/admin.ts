// The admin API on the client (used by the CLI): thin wrappers over the tenants-*,
// namespaces-*, topics-*, subscriptions-* and cluster-status requests (the same requests the
// node's REST API /admin/v2 makes). Any node serves them (writes are
// forwarded to the metadata leader). Reads retry on NOT_LEADER, OUTCOME_UNKNOWN and broken
// connections until operationTimeoutMs; writes retry on NOT_LEADER and broken connections (a
// repeated create then answers e.g. TENANT_ALREADY_EXISTS) but not on OUTCOME_UNKNOWN, which
// the caller sees.
import type { ClientResult, ClientRequestType, CursorPosition, NamespacePoliciesUpdate, SubscriptionMove } from '@blazar/protocol'
import type { RequestBody } from './connection-pool.ts'
import type { ClientContext } from './context.ts'
import type { RetryScope } from './errors.ts'
import { withRetries } from './retry.ts'

export type TopicStats = ClientResult<'topics-stats'>
export type ClusterStatus = ClientResult<'cluster-status'>

const READ_REQUESTS: ReadonlySet<ClientRequestType> = new Set([
  'tenants-list', 'tenants-get', 'namespaces-list', 'namespaces-get-policies', 'topics-list', 'topics-stats', 'topics-internal-stats',
  'topics-last-message-id', 'topics-compaction-status', 'subscriptions-peek', 'cluster-status', 'lookup'
])

export class Admin {
  private readonly context: ClientContext

  readonly tenants = {
    create: async (tenant: string, options: { adminRoles?: string[], allowedClusters?: string[] } = {}): Promise<void> => {
      await this.call({ type: 'tenants-create', tenant, adminRoles: options.adminRoles ?? [], allowedClusters: options.allowedClusters ?? [] })
    },
    list: async (): Promise<string[]> => (await this.call({ type: 'tenants-list' })).tenants,
    get: async (tenant: string): Promise<ClientResult<'tenants-get'>> => await this.call({ type: 'tenants-get', tenant }),
    update: async (tenant: string, options: { adminRoles?: string[], allowedClusters?: string[] } = {}): Promise<void> => {
      await this.call({ type: 'tenants-update', tenant, adminRoles: options.adminRoles ?? [], allowedClusters: options.allowedClusters ?? [] })
    },
    delete: async (tenant: string): Promise<void> => { await this.call({ type: 'tenants-delete', tenant }) }
  }

  readonly namespaces = {
    create: async (namespace: string, policies?: NamespacePoliciesUpdate): Promise<void> => {
      await this.call({ type: 'namespaces-create', namespace, ...(policies === undefined ? {} : { policies }) })
    },
    list: async (tenant: string): Promise<string[]> => (await this.call({ type: 'namespaces-list', tenant })).namespaces,
    delete: async (namespace: string): Promise<void> => { await this.call({ type: 'namespaces-delete', namespace }) },
    setPolicies: async (namespace: string, policies: NamespacePoliciesUpdate): Promise<void> => {
      await this.call({ type: 'namespaces-set-policies', namespace, policies })
    },
    policies: async (namespace: string): Promise<ClientResult<'namespaces-get-policies'>> => await this.call({ type: 'namespaces-get-policies', namespace })
  }

  readonly topics = {
    /** `partitions` 0 (the default) creates a non-partitioned topic. */
    create: async (topic: string, partitions = 0): Promise<void> => { await this.call({ type: 'topics-create', topic, partitions }) },
    updatePartitions: async (topic: string, partitions: number): Promise<void> => {
      await this.call({ type: 'topics-update-partitions', topic, partitions })
    },
    list: async (namespace: string): Promise<string[]> => (await this.call({ type: 'topics-list', namespace })).topics,
    delete: async (topic: string, options: { force?: boolean } = {}): Promise<void> => {
      await this.call({ type: 'topics-delete', topic, force: options.force ?? false })
    },
    stats: async (topic: string): Promise<TopicStats> => await this.call({ type: 'topics-stats', topic }),
    /** Each partition's Raft state (term, leader, indexes, replica lag) and cursors. */
    internalStats: async (topic: string): Promise<ClientResult<'topics-internal-stats'>> => await this.call({ type: 'topics-internal-stats', topic }),
    lastMessageId: async (topic: string): Promise<ClientResult<'topics-last-message-id'>['messageId']> => (await this.call({ type: 'topics-last-message-id', topic })).messageId,
    /** Compacts each partition of the topic now (Pulsar's triggerCompaction): the horizon per partition. */
    compact: async (topic: string): Promise<ClientResult<'topics-compact'>['partitions']> => (await this.call({ type: 'topics-compact', topic })).partitions,
    /** Each partition's compaction status (Pulsar's compactionStatus: NOT_RUN, RUNNING, SUCCESS, ERROR). */
    compactionStatus: async (topic: string): Promise<ClientResult<'topics-compaction-status'>['partitions']> =>
      (await this.call({ type: 'topics-compaction-status', topic })).partitions,
    /** Moves one replica of a partition (or non-partitioned topic) from node `from` to node `to`. */
    moveReplica: async (topic: string, from: string, to: string): Promise<void> => { await this.call({ type: 'topics-move-replica', topic, from, to }) },
    /**
     * Force-recovery of a partition that lost its majority for good: rebuilt from one surviving
     * replica (`survivor`, else the one with the highest commit index). What only the lost
     * replicas held is lost. Refused while the partition has a leader.
     */
    forceRecover: async (topic: string, options: { survivor?: string } = {}): Promise<ClientResult<'topics-force-recover'>> =>
      await this.call({ type: 'topics-force-recover', topic, ...(options.survivor === undefined ? {} : { survivor: options.survivor }) }),
    /** Partition count and leaders, as a producer or consumer sees them. */
    lookup: async (topic: string): Promise<ClientResult<'lookup'>> => await this.call({ type: 'lookup', topic })
  }

  /** Subscriptions without a consumer (Pulsar's subscription admin operations); on a partitioned topic, on every partition. */
  readonly subscriptions = {
    create: async (topic: string, subscription: string, position: CursorPosition = { at: 'latest' }): Promise<void> => {
      await this.call({ type: 'subscriptions-create', topic, subscription, position })
    },
    delete: async (topic: string, subscription: string, options: { force?: boolean } = {}): Promise<void> => {
      await this.call({ type: 'subscriptions-delete', topic, subscription, force: options.force ?? false })
    },
    /** Skip, skip all, expire or reset the cursor; answers the new mark-delete (0 on a partitioned topic). */
    move: async (topic: string, subscription: string, move: SubscriptionMove): Promise<number> =>
      (await this.call({ type: 'subscriptions-move', topic, subscription, move })).markDelete,
    /** The `position`-th (1-based) unacknowledged message of one partition's subscription. */
    peek: async (topic: string, subscription: string, position: number): Promise<ClientResult<'subscriptions-peek'>> =>
      await this.call({ type: 'subscriptions-peek', topic, subscription, position })
  }

  readonly cluster = {
    status: async (): Promise<ClusterStatus> => await this.call({ type: 'cluster-status' })
  }

  /** Day-two operations on nodes (ids are PeerIds, as `cluster.status()` lists them). */
  readonly nodes = {
    /** `draining`: every replica moves off the node (it stays a member); `active`: back in service. */
    setState: async (node: string, state: 'active' | 'draining'): Promise<void> => { await this.call({ type: 'nodes-set-state', id: node, state }) },
    /** Refused while the node hosts replicas or is a metadata voter nobody could replace, unless `force`. */
    remove: async (node: string, options: { force?: boolean } = {}): Promise<void> => {
      await this.call({ type: 'nodes-remove', id: node, force: options.force ?? false })
    }
  }

  constructor (context: ClientContext) {
    this.context = context
  }

  private async call<K extends ClientRequestType> (body: RequestBody<K>): Promise<ClientResult<K>> {
    const timeoutMs = this.context.operationTimeoutMs
    const read = READ_REQUESTS.has(body.type)
    const scope: RetryScope = read ? 'read' : 'admin-write'
    return await withRetries({
      operation: body.type, scope, timers: this.context.timers, deadline: this.context.timers.now() + timeoutMs, timeoutMs, signal: this.context.closed
    }, async (remainingMs) => await this.context.pool.request(await this.context.pool.any(), body, remainingMs))
  }
}
