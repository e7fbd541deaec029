// A close-consumer that arrives while a forwarded subscribe waits for its upstream connection
// (dialling the leader's node, or between two forwarding hops) cancels that subscribe, and the
// attachment the subscribe then makes at the leader is ended again (close-consumer upstream):
// never a consumer left attached at the leader that its client closed.
import t from 'tap'
import { silentLogger, type Env } from '@blazar/env'
import type { ClientReply, ClientRequestBody } from '@blazar/protocol'
import { closeConsumer, subscribe } from '../src/consumer-handlers.ts'
import { ConsumerRegistry } from '../src/consumer-registry.ts'
import type { GatewayContext } from '../src/gateway-context.ts'
import { SessionState, type GatewaySession } from '../src/session-state.ts'
import type { Upstream } from '../src/upstreams.ts'

const TOPIC = 'persistent://public/default/t'

t.test('a consumer closed while its forwarded subscribe dials the leader is detached at the leader', async (t) => {
  const sentUpstream: ClientRequestBody[] = []
  const listening = new Set<number>()
  const upstream = {
    node: 'leader',
    connection: { open: true, request: async (body: ClientRequestBody) => { sentUpstream.push(body); return { ok: true, result: {} } } },
    request: async (body: ClientRequestBody): Promise<ClientReply> => { sentUpstream.push(body); return { ok: true, result: {} } },
    allocateHandle: () => 7,
    listen: (id: number) => { listening.add(id) },
    unlisten: (id: number) => { listening.delete(id) }
  } as unknown as Upstream
  let connected: (upstream: Upstream) => void = () => {}
  const dialling = new Promise<Upstream>((resolve) => { connected = resolve })
  const context = {
    env: { logger: silentLogger } as unknown as Env,
    self: 'here',
    metadata: { sm: { topic: () => ({ partitions: 0 }) } },
    router: { route: () => ({ kind: 'remote', node: 'leader' }), learn: () => {} },
    upstreams: { get: async () => await dialling }
  } as unknown as GatewayContext
  const session: GatewaySession = { peer: 'client', open: true, push: async () => {}, onClose: () => {} }
  const state = new SessionState(session, false)
  const registry = new ConsumerRegistry(silentLogger)
  const subscribing = subscribe(context, registry, state, {
    type: 'subscribe', topic: TOPIC, subscription: 's', consumerId: 1, subscriptionType: 'Exclusive', initialPosition: 'Earliest', durable: true
  })
  // Let the subscribe reach the dial, then the client gives up on it.
  for (let i = 0; i < 10; i++) await null
  t.same(closeConsumer(context, registry, state, { type: 'close-consumer', consumerId: 1 }), { ok: true, result: {} })
  connected(upstream)
  const reply = await subscribing
  t.equal(reply.ok, false)
  t.equal(reply.ok ? undefined : reply.error.code, 'CONSUMER_CLOSED', 'the cancelled subscribe answers CONSUMER_CLOSED')
  t.same(sentUpstream.map((body) => body.type), ['subscribe', 'close-consumer'], 'the attachment made at the leader is closed again')
  t.equal(listening.size, 0, 'no push listener is left for it')
  t.equal(state.consumers.size, 0)
})
