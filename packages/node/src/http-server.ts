// The node's HTTP endpoint (fastify): `GET /health` (200 once the node serves, with its id)
// and `GET /status` (this node's Raft groups). The admin REST API and /metrics build on it.
import type { ClientResult } from '@blazar/protocol'
import Fastify, { type FastifyInstance } from 'fastify'

export async function startHttpServer (options: {
  host: string
  port: number
  health: () => { id: string, name: string | null, metadataLeader: string | null }
  status: () => ClientResult<'node-status'>
}): Promise<{ server: FastifyInstance, address: string }> {
  const server = Fastify({ logger: false })
  server.get('/health', async () => ({ status: 'ok', ...options.health() }))
  server.get('/status', async () => options.status())
  const address = await server.listen({ host: options.host, port: options.port })
  return { server, address }
}
