// Where a consumer's flow request goes on the node it arrived at: to the local replica under
// the node-wide id (attached at the leader), upstream under the forwarded handle (attached
// through this node to the leader's node), and nowhere once the attachment ended (the client
// was told with consumer-closed and subscribes again).
import t from 'tap'
import { silentLogger } from '@blazar/env'
import type { ClientRequestBody } from '@blazar/protocol'
import type { ClientSession } from '@blazar/transport'
import { consumerRequest } from '../src/consumer-handlers.ts'
import { ConsumerRegistry } from '../src/consumer-registry.ts'
import type { HostedPartition } from '../src/partition-service.ts'
import { SessionState, type ConsumerRecord } from '../src/session-state.ts'
import type { Upstream } from '../src/upstreams.ts'

const CLIENT_HANDLE = 5

function consumerWith (attachment: ConsumerRecord['attachment']): { state: SessionState, registry: ConsumerRegistry } {
  const state = new SessionState({ peer: 'client' } as unknown as ClientSession, false)
  state.consumers.set(CLIENT_HANDLE, {
    clientId: CLIENT_HANDLE, group: 'persistent://public/default/t-partition-0', subscription: 's', type: 'Exclusive',
    initialPosition: 'Earliest', consumerName: 'c', attachment, attempt: null
  })
  return { state, registry: new ConsumerRegistry(silentLogger) }
}

t.test('attached at the leader: the flow reaches the replica under the node-wide id', async (t) => {
  const flows: Array<[number, number]> = []
  const partition = { replica: { flow: (id: number, permits: number) => { flows.push([id, permits]) } } } as unknown as HostedPartition
  const { state, registry } = consumerWith({ kind: 'local', internalId: 42, partition })
  const reply = await consumerRequest(registry, state, { type: 'flow', consumerId: CLIENT_HANDLE, permits: 500 })
  t.same(reply, { ok: true, result: {} })
  t.same(flows, [[42, 500]])
})

t.test('attached through this node: the flow goes upstream under the forwarded handle', async (t) => {
  const forwarded: ClientRequestBody[] = []
  const upstream = { request: async (body: ClientRequestBody) => { forwarded.push(body); return { ok: true, result: {} } } } as unknown as Upstream
  const { state, registry } = consumerWith({ kind: 'remote', upstream, upstreamId: 9 })
  const reply = await consumerRequest(registry, state, { type: 'flow', consumerId: CLIENT_HANDLE, permits: 500 })
  t.same(reply, { ok: true, result: {} })
  t.same(forwarded, [{ type: 'flow', consumerId: 9, permits: 500 }])
})

t.test('after the attachment ended: CONSUMER_CLOSED, never a silent success', async (t) => {
  const { state, registry } = consumerWith(null)
  await t.rejects(consumerRequest(registry, state, { type: 'flow', consumerId: CLIENT_HANDLE, permits: 500 }), { code: 'CONSUMER_CLOSED' })
  await t.rejects(consumerRequest(registry, state, { type: 'flow', consumerId: 77, permits: 500 }), { code: 'CONSUMER_CLOSED' }, 'an unknown handle too')
})
