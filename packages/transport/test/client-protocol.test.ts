// /blazar/client/1 over TCP: request/response with ids, typed errors, server push spending
// permits, and backpressure instead of silent drops. Unknown peers may use this protocol.
import t from 'tap'
import {
  FrameTooLargeError, PermitLimitError, PushQueueFullError, RemoteRequestError, StreamClosedError, TooManyInflightRequestsError
} from '../src/index.ts'
import type { ClientSession } from '../src/index.ts'
import { streamPair } from '@libp2p/utils'
import { TransportCounters } from '../src/counters.ts'
import { encodeFrame } from '../src/frame-codec.ts'
import { ClientConnection, CLIENT_PROTOCOL, packBody, resolveSettings } from '../src/index.ts'
import { startTransport, waitFor } from './fixtures/helpers.ts'

t.test('requests are answered by id, in any order, from a peer that is not a member', async (t) => {
  const server = await startTransport(t)
  const client = await startTransport(t)
  server.onClientRequest(async ({ body, session }) => {
    const { delayMs, value } = body as { delayMs: number, value: number }
    await new Promise((resolve) => { setTimeout(resolve, delayMs) })
    return { value: value * 2, peer: session.peer }
  })
  const connection = await client.connectClient(server.addresses()[0])
  t.equal(connection.peer, server.id)
  const answers = await Promise.all([
    connection.request({ delayMs: 60, value: 1 }), connection.request({ delayMs: 0, value: 2 }), connection.request({ delayMs: 30, value: 3 })
  ])
  t.same(answers, [{ value: 2, peer: client.id }, { value: 4, peer: client.id }, { value: 6, peer: client.id }])
  t.equal(connection.inflight, 0)
  t.equal(server.counters().clientRequestsServed, 3)
})

t.test('handler errors, oversized bodies, aborts and closed streams are typed errors', async (t) => {
  const server = await startTransport(t, { settings: { maxFrameBytes: 4096 } })
  const client = await startTransport(t, { settings: { maxFrameBytes: 4096 } })
  server.onClientRequest(({ body }) => {
    if (body === 'fail') throw Object.assign(new Error('topic not found'), { code: 'TOPIC_NOT_FOUND' })
    if (body === 'big') return new Uint8Array(10_000)
    if (body === 'hang') return new Promise(() => {})
    return body
  })
  const connection = await client.connectClient(server.addresses()[0])
  const failed = await connection.request('fail').catch((error: unknown) => error)
  t.ok(failed instanceof RemoteRequestError)
  t.equal((failed as RemoteRequestError).remoteCode, 'TOPIC_NOT_FOUND')
  const big = await connection.request('big').catch((error: unknown) => error)
  t.equal((big as RemoteRequestError).remoteCode, FrameTooLargeError.code, 'a response that cannot be framed becomes an error response')
  await t.rejects(connection.request(new Uint8Array(5000)), FrameTooLargeError, 'the client refuses to send an oversized request')
  const controller = new AbortController()
  const hanging = connection.request('hang', { signal: controller.signal })
  controller.abort(new Error('caller gave up'))
  await t.rejects(hanging, { message: 'caller gave up' })
  t.equal(await connection.request('still fine'), 'still fine', 'the connection survives')
  const pending = connection.request('hang')
  await connection.close()
  await server.stop()
  await t.rejects(pending, StreamClosedError, 'pending requests fail when the stream closes')
  await t.rejects(connection.request('x'), StreamClosedError)
})

t.test('too many requests in flight reject with a typed error', async (t) => {
  const server = await startTransport(t)
  const client = await startTransport(t, { settings: { clientMaxInflightRequests: 3 } })
  const release: Array<() => void> = []
  server.onClientRequest(async () => { await new Promise<void>((resolve) => { release.push(resolve) }) ; return 'ok' })
  const connection = await client.connectClient(server.addresses()[0])
  const first = [connection.request(1), connection.request(2), connection.request(3)]
  await t.rejects(connection.request(4), TooManyInflightRequestsError)
  await waitFor('server got the three', () => release.length === 3)
  for (const r of release) r()
  t.same(await Promise.all(first), ['ok', 'ok', 'ok'])
})

t.test('server pushes wait for permits, and too many waiting pushes reject', async (t) => {
  const server = await startTransport(t, { settings: { clientMaxPendingPushes: 2 } })
  const client = await startTransport(t, { settings: { clientMaxPermits: 10 } })
  let session: ClientSession | undefined
  server.onClientRequest(({ session: s }) => { session = s; return 'subscribed' })
  const connection = await client.connectClient(server.addresses()[0])
  const pushed: unknown[] = []
  connection.onPush((body) => { pushed.push(body) })
  t.equal(await connection.request('subscribe'), 'subscribed')
  const s = session as ClientSession
  t.equal(s.permits, 0)
  const waiting = [s.push('m1'), s.push('m2')]
  await t.rejects(s.push('m3'), PushQueueFullError, 'a third push beyond clientMaxPendingPushes is refused')
  t.same(pushed, [], 'no push without a permit')
  connection.grantPermits(1)
  await waiting[0]
  await waitFor('m1 delivered', () => pushed.length === 1)
  t.equal(connection.permits, 0)
  connection.grantPermits(5)
  await waiting[1]
  await s.push('m3')
  await waitFor('m2, m3 delivered', () => pushed.length === 3)
  t.same(pushed, ['m1', 'm2', 'm3'])
  await waitFor('server sees the remaining permits', () => s.permits === 3)
  t.equal(connection.permits, 3)
  t.throws(() => { connection.grantPermits(8) }, PermitLimitError)
  const closedPush = (async () => { await s.push('a'); await s.push('b'); await s.push('c'); await s.push('d') })()
  await connection.close()
  await t.rejects(closedPush, StreamClosedError, 'a push waiting when the client leaves is rejected, not lost')
})

t.test('the server runs at most serverMaxConcurrentRequests per stream and stops reading meanwhile; nothing is lost', async (t) => {
  const server = await startTransport(t, { settings: { serverMaxConcurrentRequests: 2 } })
  const client = await startTransport(t)
  let running = 0
  let maxRunning = 0
  const release: Array<() => void> = []
  server.onClientRequest(async ({ body }) => {
    running++
    maxRunning = Math.max(maxRunning, running)
    await new Promise<void>((resolve) => { release.push(resolve) })
    running--
    return body
  })
  const connection = await client.connectClient(server.addresses()[0])
  const answers = Promise.all(Array.from({ length: 20 }, async (_, i) => await connection.request(i)))
  let released = 0
  while (released < 20) {
    await waitFor(`request ${released + 1} running`, () => release.length > 0)
    release.shift()?.()
    released++
  }
  t.same(await answers, Array.from({ length: 20 }, (_, i) => i), 'every request answered')
  t.equal(maxRunning, 2, 'never more than two handlers at once')
})

t.test('a session whose pushes fill the send window keeps reading requests and permit grants (issue 15, bug 3)', async (t) => {
  const server = await startTransport(t)
  const client = await startTransport(t)
  server.onClientRequest(async ({ body, session }) => {
    const { burst } = body as { burst: number }
    for (let i = 0; i < burst; i++) session.push({ chunk: new Uint8Array(64 * 1024) }).catch(() => {})
    return { burst }
  })
  const connection = await client.connectClient(server.addresses()[0])
  let pushes = 0
  connection.onPush(() => { if (++pushes % 50 === 0) connection.grantPermits(50) })
  connection.grantPermits(200)
  // Each round: one request starts a burst of 100 pushes (6.4 MB), four small ones (like flow
  // top-ups and acks) are answered while the pushes fill the window. A session that stopped
  // reading after its replies waited for the socket never answers round 2 (it hung every time
  // on the old code); the timeout only turns such a hang into a failure.
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all(Array.from({ length: 5 }, async (_, i) => await connection.request({ burst: i === 0 ? 100 : 0 }, { signal: AbortSignal.timeout(30_000) })))
    t.same(answers, [{ burst: 100 }, { burst: 0 }, { burst: 0 }, { burst: 0 }, { burst: 0 }], `round ${round} answered`)
  }
  await waitFor('every push', () => pushes === 300)
  t.equal(pushes, 300, 'the permit grants were read: every push arrived')
})

t.test('garbage on a client stream closes that stream only, and is counted', async (t) => {
  const server = await startTransport(t)
  const client = await startTransport(t)
  server.onClientRequest(({ body }) => body)
  const raw = await client.openStream(server.addresses()[0], CLIENT_PROTOCOL)
  raw.send(Uint8Array.of(2, 0x92, 0xc1))
  await waitFor('malformed counted', () => server.counters().framesMalformed === 1)
  await waitFor('garbage stream closed', () => raw.status !== 'open')
  const connection = await client.connectClient(server.addresses()[0])
  t.equal(await connection.request('ok'), 'ok', 'other streams are unaffected')
})

t.test('a server that pushes without a permit is cut off by the client', async (t) => {
  const [clientEnd, serverEnd] = await streamPair()
  const counters = new TransportCounters()
  const connection = new ClientConnection({ peer: 'server', stream: clientEnd, settings: resolveSettings(), counters })
  const pushed: unknown[] = []
  connection.onPush((body) => { pushed.push(body) })
  const pending = connection.request('anything')
  serverEnd.send(concat(encodeFrame(packBody({ t: 5, body: 'unsolicited' }), 1024)))
  await t.rejects(pending, StreamClosedError, 'the pending request fails with the stream')
  t.same(pushed, [], 'the unsolicited push was not delivered')
  t.equal(counters.snapshot().streamErrors, 1, 'counted')
  t.equal(connection.open, false)
})

function concat (parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]))
}
