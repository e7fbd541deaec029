// Pulsar's per-policy namespace paths (/admin/v2/namespaces/{tenant}/{namespace}/<policy>) for
// the policies Blazar has: retention, deduplication, auto topic creation, the replication
// factor as Pulsar's persistence policy, the max message size, and (backlog-policy-routes.ts)
// message TTL and backlog quotas.
import type { ClientResult, NamespacePoliciesUpdate } from '@blazar/protocol'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { namespaceParams, noContent } from './route-schemas.ts'
import { autoTopicCreationOf, persistenceOf, retentionOf } from './pulsar-shapes.ts'
import { RestError } from './rest-errors.ts'
import { registerBacklogPolicyRoutes } from './backlog-policy-routes.ts'

/** Pulsar's per-policy namespace paths for the policies Blazar has. */
export function registerPolicyRoutes (
  server: FastifyInstance,
  policies: (path: { tenant: string, namespace: string }) => Promise<ClientResult<'namespaces-get-policies'>>,
  setPolicies: (path: { tenant: string, namespace: string }, update: NamespacePoliciesUpdate) => Promise<void>
): void {
  type Path = { Params: { tenant: string, namespace: string } }
  const at = (policy: string): string => `/admin/v2/namespaces/:tenant/:namespace/${policy}`
  const tags = ['namespace policies']
  const put = (reply: FastifyReply): void => { reply.code(204).send() }

  const retention = { type: 'object', required: ['retentionTimeInMinutes', 'retentionSizeInMB'], properties: { retentionTimeInMinutes: { type: 'integer', minimum: -1 }, retentionSizeInMB: { type: 'integer', minimum: -1 } } } as const
  server.get<Path>(at('retention'), { schema: { tags, summary: 'Retention', params: namespaceParams, response: { 200: retention } } }, async (request) => retentionOf(await policies(request.params)))
  server.post<Path & { Body: { retentionTimeInMinutes: number, retentionSizeInMB: number } }>(at('retention'), {
    schema: { tags, summary: 'Set retention', params: namespaceParams, body: retention, response: noContent }
  }, async (request, reply) => {
    await setPolicies(request.params, { retentionTimeMinutes: request.body.retentionTimeInMinutes, retentionSizeMB: request.body.retentionSizeInMB })
    put(reply)
  })
  server.delete<Path>(at('retention'), { schema: { tags, summary: 'Back to the default retention (none once acknowledged)', params: namespaceParams, response: noContent } }, async (request, reply) => {
    await setPolicies(request.params, { retentionTimeMinutes: 0, retentionSizeMB: 0 })
    put(reply)
  })

  server.get<Path>(at('deduplication'), { schema: { tags, summary: 'Deduplication', params: namespaceParams, response: { 200: { type: 'boolean' } } } }, async (request) => (await policies(request.params)).deduplication)
  server.post<Path & { Body: boolean }>(at('deduplication'), { schema: { tags, summary: 'Enable or disable deduplication', params: namespaceParams, body: { type: 'boolean' }, response: noContent } }, async (request, reply) => {
    await setPolicies(request.params, { deduplication: request.body })
    put(reply)
  })
  server.delete<Path>(at('deduplication'), { schema: { tags, summary: 'Back to the default (off)', params: namespaceParams, response: noContent } }, async (request, reply) => {
    await setPolicies(request.params, { deduplication: false })
    put(reply)
  })

  const autoCreation = {
    type: 'object', required: ['allowAutoTopicCreation'],
    properties: { allowAutoTopicCreation: { type: 'boolean' }, topicType: { type: 'string', enum: ['non-partitioned', 'partitioned'] }, defaultNumPartitions: { type: 'integer', minimum: 1 } }
  } as const
  server.get<Path>(at('autoTopicCreation'), { schema: { tags, summary: 'Auto topic creation', params: namespaceParams, response: { 200: autoCreation } } }, async (request) => autoTopicCreationOf(await policies(request.params)))
  server.post<Path & { Body: { allowAutoTopicCreation: boolean, topicType?: string, defaultNumPartitions?: number } }>(at('autoTopicCreation'), {
    schema: { tags, summary: 'Set auto topic creation (non-partitioned topics only)', params: namespaceParams, body: autoCreation, response: noContent }
  }, async (request, reply) => {
    if (request.body.topicType === 'partitioned') throw new RestError(405, 'auto-created topics are non-partitioned in Blazar')
    await setPolicies(request.params, { autoTopicCreation: request.body.allowAutoTopicCreation, ...(request.body.defaultNumPartitions === undefined ? {} : { defaultNumPartitions: request.body.defaultNumPartitions }) })
    put(reply)
  })
  server.delete<Path>(at('autoTopicCreation'), { schema: { tags, summary: 'Back to the default (off)', params: namespaceParams, response: noContent } }, async (request, reply) => {
    await setPolicies(request.params, { autoTopicCreation: false })
    put(reply)
  })

  const persistence = {
    type: 'object', required: ['bookkeeperEnsemble'],
    properties: {
      bookkeeperEnsemble: { type: 'integer', minimum: 1, maximum: 7 }, bookkeeperWriteQuorum: { type: 'integer' }, bookkeeperAckQuorum: { type: 'integer' }, managedLedgerMaxMarkDeleteRate: { type: 'number' }
    }
  } as const
  server.get<Path>(at('persistence'), { schema: { tags, summary: 'Replication factor as Pulsar\'s persistence policy', params: namespaceParams, response: { 200: persistence } } }, async (request) => persistenceOf(await policies(request.params)))
  server.post<Path & { Body: { bookkeeperEnsemble: number, bookkeeperWriteQuorum?: number, bookkeeperAckQuorum?: number } }>(at('persistence'), {
    schema: { tags, summary: 'Set the replication factor (ensemble = write quorum; acks from a majority)', params: namespaceParams, body: persistence, response: noContent }
  }, async (request, reply) => {
    const { bookkeeperEnsemble: n, bookkeeperWriteQuorum: write, bookkeeperAckQuorum: ack } = request.body
    if ((write !== undefined && write !== n) || (ack !== undefined && ack !== Math.floor(n / 2) + 1)) {
      throw new RestError(412, `a Raft replica set of ${n} writes to all ${n} and acknowledges on ${Math.floor(n / 2) + 1}`)
    }
    await setPolicies(request.params, { replicationFactor: n })
    put(reply)
  })

  const maxSize = { type: 'integer', minimum: 1 } as const
  server.get<Path>(at('maxMessageSize'), { schema: { tags, summary: 'Largest batch a producer may send, in bytes (Blazar)', params: namespaceParams, response: { 200: maxSize } } }, async (request) => (await policies(request.params)).maxMessageSize)
  server.post<Path & { Body: number }>(at('maxMessageSize'), { schema: { tags, summary: 'Set the largest batch size (Blazar)', params: namespaceParams, body: maxSize, response: noContent } }, async (request, reply) => {
    await setPolicies(request.params, { maxMessageSize: request.body })
    put(reply)
  })

  registerBacklogPolicyRoutes(server, policies, setPolicies)
}
