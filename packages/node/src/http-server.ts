// The node's HTTP endpoint (fastify): `GET /health` (200 once the node serves, with its id),
// `GET /status` (this node's Raft groups), the admin REST API under /admin/v2 (rest/) and
// `GET /metrics` (Prometheus text format, metrics/).
import type { ClientResult } from '@blazar/protocol'
import Fastify, { type FastifyInstance } from 'fastify'
import type { AdminApi } from './rest/admin-routes.ts'
import { registerRestApi } from './rest/rest-api.ts'

export async function startHttpServer (options: {
  host: string
  port: number
  health: () => { id: string, name: string | null, metadataLeader: string | null }
  status: () => ClientResult<'node-status'>
  admin: AdminApi
  metrics: () => Promise<{ contentType: string, body: string }>
}): Promise<{ server: FastifyInstance, address: string }> {
  const server = Fastify({ logger: false })
  await registerRestApi(server, options.admin)
  server.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok', ...options.health() }))
  server.get('/status', { schema: { hide: true } }, async () => options.status())
  server.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const { contentType, body } = await options.metrics()
    reply.type(contentType).send(body)
  })
  const address = await server.listen({ host: options.host, port: options.port })
  return { server, address }
}
