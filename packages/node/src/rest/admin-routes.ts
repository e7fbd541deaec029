// The admin REST API under /admin/v2, shaped like Pulsar's (paths, verbs, status codes, JSON):
// clusters and brokers, tenants, namespaces and their policies, persistent topics and their
// subscriptions. Each route translates its HTTP call into the admin request the CLI and
// @blazar/client make and serves it through the same gateway (any node serves; writes go to
// the metadata leader, partition operations to the partition's leader). The route schemas are
// what the OpenAPI document at /admin/v2/openapi.json is generated from.
import type { ClientReply, ClientRequestBody, ClientResult, NamespacePoliciesUpdate } from '@blazar/protocol'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { registerPolicyRoutes } from './policy-routes.ts'
import {
  anyObject, forceQuery, messageIdBody, name, namespaceParams, noContent, optionalObject, stringList, subscriptionParams, tenantParams, topicParams
} from './route-schemas.ts'
import {
  policiesFromPulsar, positionOfPulsarId, pulsarCompactionStatus, pulsarInternalStats, pulsarMessageId, pulsarMessageIdText, pulsarPartitionedStats,
  pulsarPolicies, pulsarTopicStats
} from './pulsar-shapes.ts'
import { RestError, resultOf } from './rest-errors.ts'

export interface AdminApi {
  /** Serves one admin request (Gateway.serveAdmin). */
  serve: (body: ClientRequestBody) => Promise<ClientReply>
  clusterName: string
  /** The cluster's nodes (ids), for GET /brokers/{cluster}. */
  nodes: () => string[]
  /** The HTTP address clients reach this node's admin API at (ClusterData.serviceUrl). */
  serviceUrl: () => string
}

interface TopicPath { tenant: string, namespace: string, topic: string }
interface SubscriptionPath extends TopicPath { subscription: string }

const topicOf = (path: TopicPath): string => `persistent://${path.tenant}/${path.namespace}/${path.topic}`

export function registerAdminRoutes (server: FastifyInstance, api: AdminApi): void {
  const call = async <K extends ClientRequestBody['type']>(body: Extract<ClientRequestBody, { type: K }>): Promise<ClientResult<K>> =>
    resultOf(await api.serve(body)) as ClientResult<K>
  const done = (reply: FastifyReply): void => { reply.code(204).send() }
  const policies = async (path: { tenant: string, namespace: string }): Promise<ClientResult<'namespaces-get-policies'>> =>
    await call({ type: 'namespaces-get-policies', namespace: `${path.tenant}/${path.namespace}` })
  const setPolicies = async (path: { tenant: string, namespace: string }, update: NamespacePoliciesUpdate): Promise<void> => {
    await call({ type: 'namespaces-set-policies', namespace: `${path.tenant}/${path.namespace}`, policies: update })
  }
  const requireCluster = (cluster: string): void => {
    if (cluster !== api.clusterName) throw new RestError(404, `Cluster ${cluster} does not exist`)
  }

  // ---- clusters and brokers ------------------------------------------------------------
  server.get('/admin/v2/clusters', { schema: { tags: ['clusters'], summary: 'The cluster names', response: { 200: stringList } } }, async () => [api.clusterName])
  server.get<{ Params: { cluster: string } }>('/admin/v2/clusters/:cluster', {
    schema: { tags: ['clusters'], summary: 'A cluster\'s service URLs', params: { type: 'object', properties: { cluster: name } }, response: { 200: anyObject } }
  }, async (request) => {
    requireCluster(request.params.cluster)
    return { serviceUrl: api.serviceUrl(), brokerServiceUrl: '' }
  })
  server.get('/admin/v2/brokers/health', { schema: { tags: ['brokers'], summary: 'ok while this node serves admin requests', response: { 200: { type: 'string' } } } }, async (_request, reply) => {
    await call({ type: 'tenants-list' })
    reply.type('text/plain').send('ok')
  })
  server.get<{ Params: { cluster: string } }>('/admin/v2/brokers/:cluster', {
    schema: { tags: ['brokers'], summary: 'The cluster\'s nodes', params: { type: 'object', properties: { cluster: name } }, response: { 200: stringList } }
  }, async (request) => {
    requireCluster(request.params.cluster)
    return api.nodes()
  })

  // ---- tenants -------------------------------------------------------------------------
  // Pulsar clients send null for an empty list (Go's nil slice).
  const optionalList = { type: ['array', 'null'], items: { type: 'string' } } as const
  const tenantBody = { type: 'object', properties: { adminRoles: optionalList, allowedClusters: optionalList } } as const
  const optionalTenantBody = { ...tenantBody, type: ['object', 'null'] } as const
  server.get('/admin/v2/tenants', { schema: { tags: ['tenants'], summary: 'Tenant names', response: { 200: stringList } } }, async () => (await call({ type: 'tenants-list' })).tenants)
  server.get<{ Params: { tenant: string } }>('/admin/v2/tenants/:tenant', {
    schema: { tags: ['tenants'], summary: 'A tenant\'s admin roles and allowed clusters', params: tenantParams, response: { 200: tenantBody } }
  }, async (request) => await call({ type: 'tenants-get', tenant: request.params.tenant }))
  server.put<{ Params: { tenant: string }, Body: { adminRoles?: string[] | null, allowedClusters?: string[] | null } | null }>('/admin/v2/tenants/:tenant', {
    schema: { tags: ['tenants'], summary: 'Create a tenant', params: tenantParams, body: optionalTenantBody, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'tenants-create', tenant: request.params.tenant, adminRoles: request.body?.adminRoles ?? [], allowedClusters: request.body?.allowedClusters ?? [] })
    done(reply)
  })
  server.post<{ Params: { tenant: string }, Body: { adminRoles?: string[] | null, allowedClusters?: string[] | null } | null }>('/admin/v2/tenants/:tenant', {
    schema: { tags: ['tenants'], summary: 'Update a tenant', params: tenantParams, body: optionalTenantBody, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'tenants-update', tenant: request.params.tenant, adminRoles: request.body?.adminRoles ?? [], allowedClusters: request.body?.allowedClusters ?? [] })
    done(reply)
  })
  server.delete<{ Params: { tenant: string } }>('/admin/v2/tenants/:tenant', {
    schema: { tags: ['tenants'], summary: 'Delete a tenant (409 while it has namespaces)', params: tenantParams, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'tenants-delete', tenant: request.params.tenant })
    done(reply)
  })

  // ---- namespaces ----------------------------------------------------------------------
  server.get<{ Params: { tenant: string } }>('/admin/v2/namespaces/:tenant', {
    schema: { tags: ['namespaces'], summary: 'A tenant\'s namespaces', params: tenantParams, response: { 200: stringList } }
  }, async (request) => (await call({ type: 'namespaces-list', tenant: request.params.tenant })).namespaces)
  server.put<{ Params: { tenant: string, namespace: string }, Body: Record<string, unknown> | null }>('/admin/v2/namespaces/:tenant/:namespace', {
    schema: { tags: ['namespaces'], summary: 'Create a namespace (optionally with Pulsar Policies)', params: namespaceParams, body: optionalObject, response: noContent }
  }, async (request, reply) => {
    const update = policiesFromPulsar(request.body)
    await call({ type: 'namespaces-create', namespace: `${request.params.tenant}/${request.params.namespace}`, ...(update === undefined ? {} : { policies: update }) })
    done(reply)
  })
  server.get<{ Params: { tenant: string, namespace: string } }>('/admin/v2/namespaces/:tenant/:namespace', {
    schema: { tags: ['namespaces'], summary: 'A namespace\'s policies', params: namespaceParams, response: { 200: anyObject } }
  }, async (request) => pulsarPolicies(await policies(request.params), api.clusterName))
  server.delete<{ Params: { tenant: string, namespace: string } }>('/admin/v2/namespaces/:tenant/:namespace', {
    schema: { tags: ['namespaces'], summary: 'Delete a namespace (409 while it has topics)', params: namespaceParams, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'namespaces-delete', namespace: `${request.params.tenant}/${request.params.namespace}` })
    done(reply)
  })
  server.get<{ Params: { tenant: string, namespace: string } }>('/admin/v2/namespaces/:tenant/:namespace/topics', {
    schema: { tags: ['namespaces'], summary: 'Topics of a namespace (partitions listed one by one)', params: namespaceParams, response: { 200: stringList } }
  }, async (request) => await topicNames(call, request.params.tenant, request.params.namespace, 'expanded'))
  registerPolicyRoutes(server, policies, setPolicies)

  // ---- persistent topics ---------------------------------------------------------------
  server.get<{ Params: { tenant: string, namespace: string } }>('/admin/v2/persistent/:tenant/:namespace', {
    schema: { tags: ['topics'], summary: 'Non-partitioned topics and the partitions of partitioned ones', params: namespaceParams, response: { 200: stringList } }
  }, async (request) => await topicNames(call, request.params.tenant, request.params.namespace, 'expanded'))
  server.get<{ Params: { tenant: string, namespace: string } }>('/admin/v2/persistent/:tenant/:namespace/partitioned', {
    schema: { tags: ['topics'], summary: 'Partitioned topics', params: namespaceParams, response: { 200: stringList } }
  }, async (request) => await topicNames(call, request.params.tenant, request.params.namespace, 'partitioned'))
  server.put<{ Params: TopicPath }>('/admin/v2/persistent/:tenant/:namespace/:topic', {
    schema: { tags: ['topics'], summary: 'Create a non-partitioned topic', params: topicParams, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'topics-create', topic: topicOf(request.params), partitions: 0 })
    done(reply)
  })
  server.delete<{ Params: TopicPath, Querystring: { force: boolean } }>('/admin/v2/persistent/:tenant/:namespace/:topic', {
    schema: { tags: ['topics'], summary: 'Delete a topic', params: topicParams, querystring: forceQuery, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'topics-delete', topic: topicOf(request.params), force: request.query.force })
    done(reply)
  })
  const partitionCount = { type: 'integer', minimum: 1 } as const
  const partitionedMetadata = {
    anyOf: [partitionCount, { type: 'object', required: ['partitions'], properties: { partitions: partitionCount, properties: { type: ['object', 'null'] } } }]
  } as const
  server.put<{ Params: TopicPath, Body: number | { partitions: number } }>('/admin/v2/persistent/:tenant/:namespace/:topic/partitions', {
    schema: { tags: ['topics'], summary: 'Create a partitioned topic (body: the partition count, or Pulsar\'s partitioned-topic metadata)', params: topicParams, body: partitionedMetadata, response: noContent }
  }, async (request, reply) => {
    const partitions = typeof request.body === 'number' ? request.body : request.body.partitions
    await call({ type: 'topics-create', topic: topicOf(request.params), partitions })
    done(reply)
  })
  server.post<{ Params: TopicPath, Body: number }>('/admin/v2/persistent/:tenant/:namespace/:topic/partitions', {
    schema: { tags: ['topics'], summary: 'Grow a partitioned topic (body: the new partition count)', params: topicParams, body: partitionCount, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'topics-update-partitions', topic: topicOf(request.params), partitions: request.body })
    done(reply)
  })
  server.get<{ Params: TopicPath }>('/admin/v2/persistent/:tenant/:namespace/:topic/partitions', {
    schema: { tags: ['topics'], summary: 'Partition count (0: non-partitioned)', params: topicParams, response: { 200: { type: 'object', properties: { partitions: { type: 'integer' } } } } }
  }, async (request) => ({ partitions: (await call({ type: 'lookup', topic: topicOf(request.params) })).partitions }))
  server.delete<{ Params: TopicPath, Querystring: { force: boolean } }>('/admin/v2/persistent/:tenant/:namespace/:topic/partitions', {
    schema: { tags: ['topics'], summary: 'Delete a partitioned topic', params: topicParams, querystring: forceQuery, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'topics-delete', topic: topicOf(request.params), force: request.query.force })
    done(reply)
  })
  server.get<{ Params: TopicPath }>('/admin/v2/persistent/:tenant/:namespace/:topic/stats', {
    schema: { tags: ['topics'], summary: 'TopicStats (rates over the leader\'s sliding window)', params: topicParams, response: { 200: anyObject } }
  }, async (request) => pulsarTopicStats(await call({ type: 'topics-stats', topic: topicOf(request.params) })))
  server.get<{ Params: TopicPath, Querystring: { perPartition: boolean } }>('/admin/v2/persistent/:tenant/:namespace/:topic/partitioned-stats', {
    schema: {
      tags: ['topics'], summary: 'PartitionedTopicStats', params: topicParams,
      querystring: { type: 'object', properties: { perPartition: { type: 'boolean', default: true } } }, response: { 200: anyObject }
    }
  }, async (request) => {
    const stats = await call({ type: 'topics-stats', topic: topicOf(request.params) })
    if (stats.partitions === 0) throw new RestError(404, `Partitioned topic ${topicOf(request.params)} does not exist`)
    return pulsarPartitionedStats(stats, request.query.perPartition)
  })
  server.get<{ Params: TopicPath }>('/admin/v2/persistent/:tenant/:namespace/:topic/internalStats', {
    schema: { tags: ['topics'], summary: 'PersistentTopicInternalStats with the partition\'s Raft state', params: topicParams, response: { 200: anyObject } }
  }, async (request) => {
    const stats = await call({ type: 'topics-internal-stats', topic: topicOf(request.params) })
    if (stats.partitions.length !== 1) throw new RestError(405, `${stats.topic} is partitioned: ask one of its partitions (${stats.topic}-partition-<i>)`)
    return pulsarInternalStats(stats.partitions[0])
  })
  server.get<{ Params: TopicPath }>('/admin/v2/persistent/:tenant/:namespace/:topic/lastMessageId', {
    schema: { tags: ['topics'], summary: 'The last committed message\'s id', params: topicParams, response: { 200: anyObject } }
  }, async (request) => {
    const { messageId } = await call({ type: 'topics-last-message-id', topic: topicOf(request.params) })
    if (messageId === null) return { ledgerId: -1, entryId: -1, partitionIndex: -1 }
    return pulsarMessageId(messageId)
  })
  server.put<{ Params: TopicPath }>('/admin/v2/persistent/:tenant/:namespace/:topic/compaction', {
    schema: { tags: ['topics'], summary: 'Compact the topic now (every partition; the leaders build the views after answering)', params: topicParams, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'topics-compact', topic: topicOf(request.params) })
    done(reply)
  })
  server.get<{ Params: TopicPath }>('/admin/v2/persistent/:tenant/:namespace/:topic/compaction', {
    schema: { tags: ['topics'], summary: 'LongRunningProcessStatus of the compaction (over every partition)', params: topicParams, response: { 200: anyObject } }
  }, async (request) => pulsarCompactionStatus((await call({ type: 'topics-compaction-status', topic: topicOf(request.params) })).partitions))

  // ---- subscriptions -------------------------------------------------------------------
  server.get<{ Params: TopicPath }>('/admin/v2/persistent/:tenant/:namespace/:topic/subscriptions', {
    schema: { tags: ['subscriptions'], summary: 'Subscription names', params: topicParams, response: { 200: stringList } }
  }, async (request) => (await call({ type: 'topics-stats', topic: topicOf(request.params) })).subscriptions.map((sub) => sub.name))
  const base = '/admin/v2/persistent/:tenant/:namespace/:topic/subscription/:subscription'
  server.put<{ Params: SubscriptionPath, Body: { ledgerId: number, entryId: number } | null }>(base, {
    schema: { tags: ['subscriptions'], summary: 'Create a subscription at a message id (default latest)', params: subscriptionParams, body: { ...messageIdBody, type: ['object', 'null'] }, response: noContent }
  }, async (request, reply) => {
    const position = request.body === null ? { at: 'latest' as const } : positionOfPulsarId(request.body)
    await call({ type: 'subscriptions-create', topic: topicOf(request.params), subscription: request.params.subscription, position })
    done(reply)
  })
  server.delete<{ Params: SubscriptionPath, Querystring: { force: boolean } }>(base, {
    schema: { tags: ['subscriptions'], summary: 'Delete a subscription (412 with consumers connected unless force)', params: subscriptionParams, querystring: forceQuery, response: noContent }
  }, async (request, reply) => {
    await call({ type: 'subscriptions-delete', topic: topicOf(request.params), subscription: request.params.subscription, force: request.query.force })
    done(reply)
  })
  const move = async (request: FastifyRequest<{ Params: SubscriptionPath }>, reply: FastifyReply, to: Extract<ClientRequestBody, { type: 'subscriptions-move' }>['move']): Promise<void> => {
    await call({ type: 'subscriptions-move', topic: topicOf(request.params), subscription: request.params.subscription, move: to })
    done(reply)
  }
  const countParams = (key: string) => ({ type: 'object', required: [...subscriptionParams.required, key], properties: { ...subscriptionParams.properties, [key]: { type: 'integer', minimum: 0 } } })
  server.post<{ Params: SubscriptionPath & { n: number } }>(`${base}/skip/:n`, {
    schema: { tags: ['subscriptions'], summary: 'Skip the next n messages (whole batches)', params: countParams('n'), response: noContent }
  }, async (request, reply) => {
    if (request.params.n < 1) throw new RestError(400, 'skip needs at least 1 message')
    await move(request, reply, { to: 'skip', messages: request.params.n })
  })
  server.post<{ Params: SubscriptionPath }>(`${base}/skip_all`, {
    schema: { tags: ['subscriptions'], summary: 'Skip every message (clear the backlog)', params: subscriptionParams, response: noContent }
  }, async (request, reply) => { await move(request, reply, { to: 'skip-all' }) })
  server.post<{ Params: SubscriptionPath & { timestamp: number } }>(`${base}/resetcursor/:timestamp`, {
    schema: { tags: ['subscriptions'], summary: 'Reset to the first message published at or after a time (ms)', params: countParams('timestamp'), response: noContent }
  }, async (request, reply) => { await move(request, reply, { to: 'position', position: { at: 'publishTime', publishTime: request.params.timestamp } }) })
  server.post<{ Params: SubscriptionPath, Body: { ledgerId: number, entryId: number, batchIndex?: number } }>(`${base}/resetcursor`, {
    schema: { tags: ['subscriptions'], summary: 'Reset to a message id', params: subscriptionParams, body: messageIdBody, response: noContent }
  }, async (request, reply) => { await move(request, reply, { to: 'position', position: positionOfPulsarId(request.body) }) })
  server.post<{ Params: SubscriptionPath & { seconds: number } }>(`${base}/expireMessages/:seconds`, {
    schema: { tags: ['subscriptions'], summary: 'Acknowledge the messages published more than n seconds ago', params: countParams('seconds'), response: noContent }
  }, async (request, reply) => { await move(request, reply, { to: 'expire', seconds: request.params.seconds }) })
  server.get<{ Params: SubscriptionPath & { n: number } }>('/admin/v2/persistent/:tenant/:namespace/:topic/subscription/:subscription/position/:n', {
    schema: {
      tags: ['subscriptions'], summary: 'Peek the n-th unacknowledged message (payload as the body, metadata in X-Pulsar-* headers)',
      params: countParams('n'), response: { 200: { type: 'string', format: 'binary' } }
    }
  }, async (request, reply) => {
    if (request.params.n < 1) throw new RestError(400, 'positions start at 1')
    const message = await call({ type: 'subscriptions-peek', topic: topicOf(request.params), subscription: request.params.subscription, position: request.params.n })
    reply.header('X-Pulsar-Message-ID', pulsarMessageIdText(message.messageId))
    reply.header('X-Pulsar-Publish-Time', new Date(message.publishTime).toISOString())
    if (message.eventTime > 0) reply.header('X-Pulsar-Event-Time', new Date(message.eventTime).toISOString())
    if (message.key !== undefined) reply.header('X-Pulsar-partition-key', message.key)
    reply.header('X-Pulsar-Property', JSON.stringify(message.properties))
    reply.header('X-Pulsar-Redelivery-Count', String(message.redeliveryCount))
    reply.type('application/octet-stream').send(Buffer.from(message.payload))
  })
}

/** Topic names of a namespace: `expanded` lists partitions instead of partitioned topics, `partitioned` only those. */
async function topicNames (
  call: <K extends ClientRequestBody['type']>(body: Extract<ClientRequestBody, { type: K }>) => Promise<ClientResult<K>>,
  tenant: string, namespace: string, form: 'expanded' | 'partitioned'
): Promise<string[]> {
  const { topics } = await call({ type: 'topics-list', namespace: `${tenant}/${namespace}` })
  const out: string[] = []
  for (const topic of topics) {
    const { partitions } = await call({ type: 'lookup', topic })
    if (form === 'partitioned') {
      if (partitions > 0) out.push(topic)
    } else if (partitions === 0) {
      out.push(topic)
    } else {
      for (let i = 0; i < partitions; i++) out.push(`${topic}-partition-${i}`)
    }
  }
  return out
}
