// Mounts the admin REST API on the node's fastify server: the OpenAPI document generated from
// the route schemas (@fastify/swagger) at /admin/v2/openapi.json, Pulsar's error body
// `{"reason": ...}` for every failure (typed errors, schema validation, unknown paths), and
// JSON bodies that may be empty (Pulsar clients POST some operations without one).
import swagger from '@fastify/swagger'
import { BlazarError, errorToWire } from '@blazar/protocol'
import type { FastifyError, FastifyInstance } from 'fastify'
import { registerAdminRoutes, type AdminApi } from './admin-routes.ts'
import { RestError } from './rest-errors.ts'

export const OPENAPI_PATH = '/admin/v2/openapi.json'

export async function registerRestApi (server: FastifyInstance, api: AdminApi): Promise<void> {
  await server.register(swagger, {
    openapi: {
      info: { title: 'Blazar admin API (Pulsar /admin/v2)', version: '2' },
      tags: ['clusters', 'brokers', 'tenants', 'namespaces', 'namespace policies', 'topics', 'subscriptions'].map((name) => ({ name }))
    }
  })
  server.removeContentTypeParser('application/json')
  // Pulsar's clients send partitioned-topic metadata as its own JSON media type.
  server.addContentTypeParser(['application/json', 'application/vnd.partitioned-topic-metadata+json'], { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body)
    if (text.trim() === '') { done(null, undefined); return }
    try {
      done(null, JSON.parse(text))
    } catch {
      done(new RestError(400, 'the body is not valid JSON'), undefined)
    }
  })
  // A PUT or POST without a body validates as null: routes whose body is optional accept null.
  server.addHook('preValidation', async (request) => {
    if (request.body === undefined && (request.method === 'PUT' || request.method === 'POST')) request.body = null
  })
  server.setErrorHandler((error: FastifyError | RestError | BlazarError, _request, reply) => {
    if (error instanceof RestError) return reply.code(error.status).send({ reason: error.message })
    // A typed error a route raised itself (a message id Blazar never gave out): its status, as from a reply.
    if (error instanceof BlazarError) {
      const rest = RestError.of(errorToWire(error))
      return reply.code(rest.status).send({ reason: rest.message })
    }
    if (error.validation !== undefined) return reply.code(400).send({ reason: error.message })
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500
    return reply.code(status).send({ reason: error.message })
  })
  server.setNotFoundHandler((request, reply) => reply.code(404).send({ reason: `no such path: ${request.method} ${request.url}` }))
  registerAdminRoutes(server, api)
  server.get(OPENAPI_PATH, { schema: { hide: true } }, async () => server.swagger())
}
