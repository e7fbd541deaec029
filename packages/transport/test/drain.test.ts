// whenDrained and the raft link across repeated drain cycles (issue 15, bug 1). The streams are
// @libp2p/utils' own stream classes; their muxer hooks (onMuxerNeedsDrain / onMuxerDrain) stand
// in for a socket whose buffer fills and empties.
import t from 'tap'
import { SeededRandom, VirtualClock } from '@blazar/env'
import { streamPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { TransportCounters } from '../src/counters.ts'
import { ClientConnection } from '../src/client-connection.ts'
import { ClientSession } from '../src/client-server.ts'
import { whenDrained } from '../src/drain.ts'
import { RaftLink } from '../src/raft-link.ts'
import { resolveSettings } from '../src/settings.ts'

interface MuxerHooks { onMuxerNeedsDrain (): void, onMuxerDrain (): void }
const hooks = (stream: Stream): MuxerHooks => stream as unknown as MuxerHooks

/** Lets every queued microtask and one macrotask turn run. */
const turn = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

async function drainCycle (stream: Stream): Promise<void> {
  hooks(stream).onMuxerNeedsDrain()
  const drained = whenDrained(stream)
  hooks(stream).onMuxerDrain()
  await drained
}

t.test('whenDrained waits for the next drain, also after an earlier drain cycle', async (t) => {
  const [outbound] = await streamPair()
  t.teardown(() => { outbound.abort(new Error('test over')) })
  await whenDrained(outbound) // not needing drain: resolves at once
  await drainCycle(outbound)
  hooks(outbound).onMuxerNeedsDrain()
  let resolved = false
  const second = whenDrained(outbound).then(() => { resolved = true })
  for (let i = 0; i < 5; i++) await turn()
  t.equal(resolved, false, 'a stream that needs drain again is not reported drained before its drain event')
  hooks(outbound).onMuxerDrain()
  await second
  t.equal(resolved, true)
})

t.test('whenDrained rejects when the stream closes or the signal aborts', async (t) => {
  const [a] = await streamPair()
  hooks(a).onMuxerNeedsDrain()
  const closed = whenDrained(a)
  a.abort(new Error('gone'))
  await t.rejects(closed, { code: 'STREAM_CLOSED' })
  const [b] = await streamPair()
  t.teardown(() => { b.abort(new Error('test over')) })
  hooks(b).onMuxerNeedsDrain()
  const controller = new AbortController()
  const aborted = whenDrained(b, controller.signal)
  controller.abort(new Error('deadline'))
  await t.rejects(aborted, { message: 'deadline' })
})

t.test('a raft link that needs drain a second time waits for it without spinning, then sends everything queued', async (t) => {
  const clock = new VirtualClock()
  const counters = new TransportCounters()
  const [outbound, inbound] = await streamPair()
  const received: number[] = []
  inbound.addEventListener('message', (event) => { received.push(event.data.byteLength) })
  // With the library's onDrain (a promise resolved once and kept), a link waiting a second
  // time re-enters flush as a microtask forever and this test would never get another turn;
  // the guard turns that spin into a failure instead of a hang.
  let onDrainCalls = 0
  const original = outbound.onDrain.bind(outbound)
  outbound.onDrain = async (options) => {
    if (++onDrainCalls > 1000) return await new Promise<void>(() => {})
    return await original(options)
  }
  const link = new RaftLink('peer', {
    settings: resolveSettings({}),
    clock,
    random: new SeededRandom(1),
    counters,
    dial: async () => outbound
  })
  t.teardown(() => { link.stop(); inbound.abort(new Error('test over')) })
  link.connect()
  await turn()
  t.equal(link.connected, true)

  for (let cycle = 1; cycle <= 3; cycle++) {
    hooks(outbound).onMuxerNeedsDrain()
    link.enqueue(Uint8Array.of(0x80, cycle))
    for (let i = 0; i < 3; i++) await turn()
    t.ok(onDrainCalls <= 1000, `cycle ${cycle}: the link does not spin while the stream needs drain`)
    t.equal(counters.snapshot().raftFramesSent, cycle - 1, `cycle ${cycle}: nothing is written before the drain`)
    hooks(outbound).onMuxerDrain()
    for (let i = 0; i < 3; i++) await turn()
    t.equal(counters.snapshot().raftFramesSent, cycle, `cycle ${cycle}: the queued message goes out after the drain`)
  }
  t.equal(received.length, 3, 'the peer received a frame per cycle')
})

t.test('a client session whose replies needed drain twice keeps reading requests', async (t) => {
  const [outbound, inbound] = await streamPair()
  const settings = resolveSettings({})
  // The session serves `inbound` from its constructor on (it attaches the frame reader).
  const session = new ClientSession({
    peer: 'client', stream: inbound, settings, counters: new TransportCounters(), handler: () => async ({ body }) => body
  })
  const connection = new ClientConnection({ peer: 'server', stream: outbound, settings, counters: new TransportCounters() })
  t.teardown(() => { outbound.abort(new Error('test over')); inbound.abort(new Error('test over')) })
  t.teardown(() => { session.close() })
  for (let cycle = 1; cycle <= 3; cycle++) {
    // The server's send buffer is full when it writes this reply: it pauses reading until drain.
    hooks(inbound).onMuxerNeedsDrain()
    const controller = new AbortController()
    const answer = connection.request(`request ${cycle}`, { signal: controller.signal })
    for (let i = 0; i < 3; i++) await turn()
    hooks(inbound).onMuxerDrain()
    // A paused reader that is never resumed would leave the request unanswered: give up after
    // a bounded number of event-loop turns instead of hanging.
    let turns = 0
    const bounded = (async () => { while (turns++ < 50) await turn(); controller.abort(new Error(`request ${cycle} unanswered`)) })()
    t.equal(await answer, `request ${cycle}`, `cycle ${cycle}: answered after the drain`)
    turns = Number.POSITIVE_INFINITY
    await bounded
  }
})
