// The admin API on the client (used by the CLI): thin wrappers over the tenants-*,
// namespaces-*, topics-* and cluster-status requests. Any node serves them (writes are
// forwarded to the metadata leader). Reads retry on NOT_LEADER, OUTCOME_UNKNOWN and broken
// connections until operationTimeoutMs; writes retry on NOT_LEADER and broken connections (a
// repeated create then answers e.g. TENANT_ALREADY_EXISTS) but not on OUTCOME_UNKNOWN, which
// the caller sees.
import type { ClientResult, ClientRequestType, NamespacePoliciesUpdate } from '@blazar/protocol'
import type { RequestBody } from './connection-pool.ts'
import type { ClientContext } from './context.ts'
import type { RetryScope } from './errors.ts'
import { withRetries } from './retry.ts'

export type TopicStats = ClientResult<'topics-stats'>
export type ClusterStatus = ClientResult<'cluster-status'>

export class Admin {
  private readonly context: ClientContext

  readonly tenants = {
    create: async (tenant: string, options: { adminRoles?: string[], allowedClusters?: string[] } = {}): Promise<void> => {
      await this.call({ type: 'tenants-create', tenant, adminRoles: options.adminRoles ?? [], allowedClusters: options.allowedClusters ?? [] })
    },
    list: async (): Promise<string[]> => (await this.call({ type: 'tenants-list' })).tenants,
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
    }
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
    /** Partition count and leaders, as a producer or consumer sees them. */
    lookup: async (topic: string): Promise<ClientResult<'lookup'>> => await this.call({ type: 'lookup', topic })
  }

  readonly cluster = {
    status: async (): Promise<ClusterStatus> => await this.call({ type: 'cluster-status' })
  }

  constructor (context: ClientContext) {
    this.context = context
  }

  private async call<K extends ClientRequestType> (body: RequestBody<K>): Promise<ClientResult<K>> {
    const timeoutMs = this.context.operationTimeoutMs
    const read = body.type.endsWith('-list') || body.type === 'topics-stats' || body.type === 'cluster-status' || body.type === 'lookup'
    const scope: RetryScope = read ? 'read' : 'admin-write'
    return await withRetries({
      operation: body.type, scope, timers: this.context.timers, deadline: this.context.timers.now() + timeoutMs, timeoutMs, signal: this.context.closed
    }, async (remainingMs) => await this.context.pool.request(await this.context.pool.any(), body, remainingMs))
  }
}
