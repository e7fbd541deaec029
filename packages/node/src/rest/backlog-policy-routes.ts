// Pulsar's namespace paths for message TTL, backlog quotas and the compaction threshold, with
// Pulsar's shapes: `messageTTL` (an integer body, seconds; 0 = off), `compactionThreshold` (an
// integer body, bytes; 0 = off), `backlogQuotaMap` (the quotas by
// BacklogQuotaType) and `backlogQuota?backlogQuotaType=destination_storage|message_age`
// ({limitSize, limitTime, policy}; `limit` is Pulsar's older name of limitSize).
import { BACKLOG_QUOTA_POLICIES, BACKLOG_QUOTA_TYPES, type BacklogQuota, type BacklogQuotaType, type ClientResult, type NamespacePoliciesUpdate } from '@blazar/protocol'
import type { FastifyInstance } from 'fastify'
import { namespaceParams, noContent } from './route-schemas.ts'
import { RestError } from './rest-errors.ts'

type NamespacePath = { tenant: string, namespace: string }

const backlogQuota = {
  type: 'object',
  required: ['policy'],
  properties: {
    limitSize: { type: 'integer', minimum: -1 },
    limit: { type: 'integer', minimum: -1 },
    limitTime: { type: 'integer', minimum: -1 },
    policy: { type: 'string', enum: [...BACKLOG_QUOTA_POLICIES] }
  }
} as const
const quotaType = { type: 'object', properties: { backlogQuotaType: { type: 'string', enum: [...BACKLOG_QUOTA_TYPES], default: 'destination_storage' } } } as const

export function registerBacklogPolicyRoutes (
  server: FastifyInstance,
  policies: (path: NamespacePath) => Promise<ClientResult<'namespaces-get-policies'>>,
  setPolicies: (path: NamespacePath, update: NamespacePoliciesUpdate) => Promise<void>
): void {
  type Path = { Params: NamespacePath }
  type Typed = Path & { Querystring: { backlogQuotaType: BacklogQuotaType } }
  const at = (policy: string): string => `/admin/v2/namespaces/:tenant/:namespace/${policy}`
  const tags = ['namespace policies']

  server.get<Path>(at('messageTTL'), { schema: { tags, summary: 'Message TTL in seconds (0: off)', params: namespaceParams, response: { 200: { type: 'integer' } } } }, async (request) => (await policies(request.params)).messageTTLSeconds)
  server.post<Path & { Body: number }>(at('messageTTL'), {
    schema: { tags, summary: 'Set the message TTL: unacknowledged messages older than this many seconds are acknowledged on every subscription', params: namespaceParams, body: { type: 'integer' }, response: noContent }
  }, async (request, reply) => {
    // Pulsar answers 412 for a negative TTL.
    if (request.body < 0) throw new RestError(412, 'Invalid value for message TTL, message TTL must >= 0')
    await setPolicies(request.params, { messageTTLSeconds: request.body })
    reply.code(204).send()
  })
  server.delete<Path>(at('messageTTL'), { schema: { tags, summary: 'Remove the message TTL (off)', params: namespaceParams, response: noContent } }, async (request, reply) => {
    await setPolicies(request.params, { messageTTLSeconds: 0 })
    reply.code(204).send()
  })
  server.get<Path>(at('compactionThreshold'), {
    schema: { tags, summary: 'Compaction threshold in bytes since the last compaction (0: off)', params: namespaceParams, response: { 200: { type: 'integer' } } }
  }, async (request) => (await policies(request.params)).compactionThreshold)
  server.put<Path & { Body: number }>(at('compactionThreshold'), {
    schema: { tags, summary: 'Compact a partition once this many bytes arrived since its last compaction', params: namespaceParams, body: { type: 'integer' }, response: noContent }
  }, async (request, reply) => {
    if (request.body < 0) throw new RestError(412, 'compactionThreshold must be 0 or greater')
    await setPolicies(request.params, { compactionThreshold: request.body })
    reply.code(204).send()
  })
  server.delete<Path>(at('compactionThreshold'), { schema: { tags, summary: 'Remove the compaction threshold (off)', params: namespaceParams, response: noContent } }, async (request, reply) => {
    await setPolicies(request.params, { compactionThreshold: 0 })
    reply.code(204).send()
  })

  server.get<Path>(at('backlogQuotaMap'), {
    schema: { tags, summary: 'Backlog quotas by type (destination_storage, message_age)', params: namespaceParams, response: { 200: { type: 'object', additionalProperties: backlogQuota } } }
  }, async (request) => (await policies(request.params)).backlogQuotas)
  server.post<Typed & { Body: { limitSize?: number, limit?: number, limitTime?: number, policy: BacklogQuota['policy'] } }>(at('backlogQuota'), {
    schema: { tags, summary: 'Set a backlog quota (limitSize in bytes bounds destination_storage, limitTime in seconds message_age; -1 unlimited)', params: namespaceParams, querystring: quotaType, body: backlogQuota, response: noContent }
  }, async (request, reply) => {
    const { limitSize, limit, limitTime, policy } = request.body
    const quota: BacklogQuota = { limitSize: limitSize ?? limit ?? -1, limitTime: limitTime ?? -1, policy }
    const current = (await policies(request.params)).backlogQuotas
    await setPolicies(request.params, { backlogQuotas: { ...current, [request.query.backlogQuotaType]: quota } })
    reply.code(204).send()
  })
  server.delete<Typed>(at('backlogQuota'), { schema: { tags, summary: 'Remove the backlog quota of a type', params: namespaceParams, querystring: quotaType, response: noContent } }, async (request, reply) => {
    const { [request.query.backlogQuotaType]: _removed, ...rest } = (await policies(request.params)).backlogQuotas
    await setPolicies(request.params, { backlogQuotas: rest })
    reply.code(204).send()
  })
}
