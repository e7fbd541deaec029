// /blazar/join/1: the cluster secret is required; a wrong or missing one is refused before the
// host's handler sees the request.
import t from 'tap'
import { JoinRefusedError } from '../src/index.ts'
import type { JoinRequest } from '../src/index.ts'
import { secretMatches } from '../src/join-protocol.ts'
import { startTransport } from './fixtures/helpers.ts'

t.test('a join with the right secret reaches the handler, which decides', async (t) => {
  const seed = await startTransport(t, { clusterSecret: 'correct horse' })
  const joiner = await startTransport(t)
  const seen: JoinRequest[] = []
  seed.onJoin((request) => {
    seen.push(request)
    return (request.body as { zone: string }).zone === 'z1' ? { accepted: true, body: { members: [seed.id] } } : { accepted: false, reason: 'zone full' }
  })
  t.same(await joiner.join(seed.addresses()[0], { secret: 'correct horse', body: { zone: 'z1' } }), { members: [seed.id] })
  t.equal(seen[0].peer, joiner.id, 'the handler sees the authenticated PeerId')
  await t.rejects(joiner.join(seed.addresses()[0], { secret: 'correct horse', body: { zone: 'z2' } }), { name: 'JoinRefusedError', reason: 'zone full' })
  t.equal(seed.counters().joinsAccepted, 1)
})

t.test('a join with a wrong secret is refused and never reaches the handler', async (t) => {
  const seed = await startTransport(t, { clusterSecret: 'correct horse' })
  const joiner = await startTransport(t)
  let calls = 0
  seed.onJoin(() => { calls++; return { accepted: true } })
  await t.rejects(joiner.join(seed.addresses()[0], { secret: 'battery staple' }), JoinRefusedError)
  await t.rejects(joiner.join(seed.addresses()[0], { secret: '' }), JoinRefusedError)
  t.equal(calls, 0)
  t.equal(seed.counters().joinsRefused, 2)
})

t.test('a node without a cluster secret refuses every join', async (t) => {
  const seed = await startTransport(t)
  const joiner = await startTransport(t)
  seed.onJoin(() => ({ accepted: true }))
  await t.rejects(joiner.join(seed.addresses()[0], { secret: 'anything' }), { name: 'JoinRefusedError', reason: 'wrong cluster secret' })
})

t.test('secret comparison', async (t) => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
  t.ok(secretMatches(enc('abc'), enc('abc')))
  t.notOk(secretMatches(enc('abc'), enc('abd')))
  t.notOk(secretMatches(enc('abc'), enc('abcd')))
  t.notOk(secretMatches(enc(''), undefined))
  t.notOk(secretMatches(enc(''), enc('')), 'an empty configured secret admits nobody')
})
