// /blazar/raft/1 over TCP on loopback: delivery and batching, the member allowlist, bad frames,
// bounded queues, and reconnecting after the peer restarts.
import t from 'tap'
import { encodeVarint } from '../src/frame-codec.ts'
import { RAFT_PROTOCOL } from '../src/index.ts'
import type { Transport } from '../src/index.ts'
import { startTransport, tempDir, waitFor } from './fixtures/helpers.ts'
import type { Teardown } from './fixtures/helpers.ts'

interface TestMessage { type: string, group: string, term: number, seq: number }

function collect (transport: Transport): Array<{ from: string, message: TestMessage }> {
  const received: Array<{ from: string, message: TestMessage }> = []
  transport.raftNetwork<TestMessage>().onMessage((from, message) => { received.push({ from, message }) })
  return received
}

async function pair (t: Teardown): Promise<[Transport, Transport]> {
  const a = await startTransport(t)
  const b = await startTransport(t)
  await a.addPeerAddresses(b.id, b.addresses())
  await b.addPeerAddresses(a.id, a.addresses())
  a.setMembers([a.id, b.id])
  b.setMembers([a.id, b.id])
  return [a, b]
}

t.test('messages of many groups reach the peer, batched into few frames', async (t) => {
  const [a, b] = await pair(t)
  const received = collect(b)
  const network = a.raftNetwork<TestMessage>()
  for (let seq = 0; seq < 300; seq++) network.send(b.id, { type: 'append', group: `g${seq % 30}`, term: 1, seq })
  await waitFor('300 messages', () => received.length === 300)
  t.same(received.map((r) => r.message.seq), Array.from({ length: 300 }, (_, i) => i), 'in order')
  t.ok(received.every((r) => r.from === a.id), 'from is the sender PeerId')
  t.ok(a.counters().raftFramesSent < 10, `300 messages in ${a.counters().raftFramesSent} frames`)
  const self: TestMessage[] = []
  a.raftNetwork<TestMessage>().onMessage((_, message) => { self.push(message) })
  network.send(a.id, { type: 'vote', group: 'g1', term: 2, seq: 0 })
  await waitFor('loopback delivery', () => self.length === 1)
})

t.test('node heartbeats keep the peer live without any group traffic; silence is reported', async (t) => {
  const settings = { nodeHeartbeatIntervalMs: 50, peerLivenessTimeoutMs: 300 }
  const a = await startTransport(t, { settings })
  const b = await startTransport(t, { settings })
  await a.addPeerAddresses(b.id, b.addresses())
  await b.addPeerAddresses(a.id, a.addresses())
  const changes: Array<[string, boolean]> = []
  a.raftNetwork().onPeerLiveness((peer, live) => { changes.push([peer, live]) })
  a.setMembers([a.id, b.id])
  b.setMembers([a.id, b.id])
  await waitFor('b hears a', () => b.raftNetwork().isPeerLive(a.id))
  await waitFor('a hears b', () => a.raftNetwork().isPeerLive(b.id))
  t.ok(a.counters().nodeHeartbeatsSent > 0)
  t.same(changes, [[b.id, true]], 'b reported live once')
  const heardAt = a.raftNetwork().lastHeardFrom(b.id) as number
  await waitFor('another heartbeat', () => (a.raftNetwork().lastHeardFrom(b.id) as number) > heardAt)
  t.same(changes, [[b.id, true]], 'steady heartbeats report nothing new')
  await b.stop()
  await waitFor('b reported silent', () => changes.length === 2)
  t.same(changes[1], [b.id, false])
  t.notOk(a.raftNetwork().isPeerLive(b.id))
})

t.test('a peer that is not on the allowlist cannot open the raft protocol', async (t) => {
  const [a, b] = await pair(t)
  const stranger = await startTransport(t)
  await stranger.addPeerAddresses(b.id, b.addresses())
  const received = collect(b)
  stranger.setMembers([stranger.id, b.id])
  stranger.raftNetwork<TestMessage>().send(b.id, { type: 'vote', group: 'g1', term: 99, seq: 0 })
  await waitFor('rejection counted', () => b.counters().raftStreamsRejected >= 1)
  const raw = await stranger.openStream(b.id, RAFT_PROTOCOL)
  await waitFor('raw stream reset', () => raw.status !== 'open')
  t.ok(b.counters().raftStreamsRejected >= 2)
  t.same(received, [], 'nothing from the stranger was delivered')
  a.raftNetwork<TestMessage>().send(b.id, { type: 'vote', group: 'g1', term: 1, seq: 1 })
  await waitFor('member still delivers', () => received.length === 1)
  t.equal(received[0].from, a.id)

  b.setMembers([b.id])
  await waitFor('removed member is refused on reconnect', () => b.counters().raftStreamsRejected >= 3)
  a.raftNetwork<TestMessage>().send(b.id, { type: 'vote', group: 'g1', term: 1, seq: 2 })
  await waitFor('another rejection', () => b.counters().raftStreamsRejected >= 4)
  t.equal(received.length, 1, 'nothing delivered after removal')
})

t.test('malformed and oversized frames close that stream, are counted, and the node carries on', async (t) => {
  const [a, b] = await pair(t)
  const received = collect(b)
  const uncaught: unknown[] = []
  const onUncaught = (error: unknown): void => { uncaught.push(error) }
  process.on('uncaughtException', onUncaught)
  t.teardown(() => { process.off('uncaughtException', onUncaught) })

  const garbage = await a.openStream(b.id, RAFT_PROTOCOL)
  garbage.send(Uint8Array.of(3, 0xc1, 0xc1, 0xc1))
  await waitFor('malformed counted', () => b.counters().framesMalformed === 1)
  const oversized = await a.openStream(b.id, RAFT_PROTOCOL)
  oversized.send(encodeVarint(2 ** 32))
  await waitFor('oversized counted', () => b.counters().framesOversized === 1)
  const truncated = await a.openStream(b.id, RAFT_PROTOCOL)
  truncated.send(Uint8Array.of(10, 1, 2))
  await truncated.close()
  await waitFor('truncated counted', () => b.counters().framesTruncated === 1)
  await waitFor('bad streams closed', () => garbage.status !== 'open' && oversized.status !== 'open')

  a.raftNetwork<TestMessage>().send(b.id, { type: 'append', group: 'g', term: 1, seq: 7 })
  await waitFor('good traffic still flows', () => received.length === 1)
  t.same(uncaught, [], 'no uncaught exception')
})

t.test('a full send queue drops raft messages and counts them', async (t) => {
  const a = await startTransport(t, { settings: { raftQueueMaxMessages: 10 } })
  const b = await startTransport(t)
  await a.addPeerAddresses(b.id, b.addresses())
  b.setMembers([a.id, b.id])
  const received = collect(b)
  for (let seq = 0; seq < 100; seq++) a.raftNetwork<TestMessage>().send(b.id, { type: 'append', group: 'g', term: 1, seq })
  t.equal(a.counters().raftMessagesDroppedQueueFull, 90)
  await waitFor('the 10 queued arrive', () => received.length === 10)
  t.equal(a.raftNetwork().queuedFor(b.id), 0)
})

t.test('the link reconnects after the peer restarts', async (t) => {
  const settings = { reconnectBaseDelayMs: 20, reconnectMaxDelayMs: 200, nodeHeartbeatIntervalMs: 50, peerLivenessTimeoutMs: 400 }
  const a = await startTransport(t, { settings })
  const bDir = tempDir(t)
  let b = await startTransport(t, { dataDir: bDir, settings })
  const bId = b.id
  const port = b.addresses()[0].split('/')[4]
  await a.addPeerAddresses(bId, b.addresses())
  a.setMembers([a.id, bId])
  b.setMembers([a.id, bId])
  let received = collect(b)
  a.raftNetwork<TestMessage>().send(bId, { type: 'append', group: 'g', term: 1, seq: 1 })
  await waitFor('first delivery', () => received.length === 1)
  const connectsBefore = a.counters().raftConnects

  await b.stop()
  await waitFor('a notices the loss', () => !a.raftNetwork().isConnectedTo(bId))
  b = await startTransport(t, { dataDir: bDir, settings, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
  t.equal(b.id, bId, 'same identity after restart')
  b.setMembers([a.id, bId])
  received = collect(b)
  await waitFor('a reconnects', () => a.raftNetwork().isConnectedTo(bId) && a.counters().raftConnects > connectsBefore)
  a.raftNetwork<TestMessage>().send(bId, { type: 'append', group: 'g', term: 1, seq: 2 })
  await waitFor('delivery after restart', () => received.some((r) => r.message.seq === 2))
})
