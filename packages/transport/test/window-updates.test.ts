// Yamux window updates on a peer link: the receiver of a stream of small Raft frames sends a
// window update only once half its receive window is consumed (patches/ on
// @chainsafe/libp2p-yamux, the rule of hashicorp/yamux), not one per frame. Counts socket
// writes, no timing: a window update is a 12-byte Yamux header sealed by Noise (30 bytes).
import t from 'tap'
import type { Transport } from '../src/index.ts'
import { recordSocketWrites, startTransport, waitFor } from './fixtures/helpers.ts'

/** A Yamux header alone (window update, ping) as Noise writes it: 2-byte length + 12 bytes + 16-byte tag. */
const HEADER_ONLY_WRITE_BYTES = 2 + 12 + 16

interface TestMessage { type: string, group: string, term: number, seq: number }

t.test('frames received one at a time are not answered by a window update each', async (t) => {
  // Node heartbeats would add writes of their own: an interval far beyond the test's length.
  const settings = { nodeHeartbeatIntervalMs: 60_000, peerLivenessTimeoutMs: 120_000 }
  const a: Transport = await startTransport(t, { settings })
  const b: Transport = await startTransport(t, { settings })
  await a.addPeerAddresses(b.id, b.addresses())
  await b.addPeerAddresses(a.id, a.addresses())
  a.setMembers([a.id, b.id])
  b.setMembers([a.id, b.id])
  const received: TestMessage[] = []
  b.raftNetwork<TestMessage>().onMessage((_, message) => { received.push(message) })
  const network = a.raftNetwork<TestMessage>()
  network.send(b.id, { type: 'append', group: 'g', term: 1, seq: -1 })
  await waitFor('the link is up', () => received.length === 1)
  const frames = 50
  const sizes = await recordSocketWrites(async () => {
    for (let seq = 0; seq < frames; seq++) {
      network.send(b.id, { type: 'append', group: 'g', term: 1, seq })
      await waitFor(`message ${seq}`, () => received.length === seq + 2)
    }
  })
  t.equal(sizes.length, frames, `${frames} frames cost ${sizes.length} socket writes in all (a window update each would double them)`)
  t.same(sizes.filter((size) => size === HEADER_ONLY_WRITE_BYTES), [], 'no window update was written')
})

t.test('a stream far larger than the receive window still flows (updates come at half the window)', async (t) => {
  const a: Transport = await startTransport(t)
  const b: Transport = await startTransport(t)
  await a.addPeerAddresses(b.id, b.addresses())
  await b.addPeerAddresses(a.id, a.addresses())
  a.setMembers([a.id, b.id])
  b.setMembers([a.id, b.id])
  let bytes = 0
  let count = 0
  b.raftNetwork<TestMessage & { pad: string }>().onMessage((_, message) => { bytes += message.pad.length; count++ })
  const network = a.raftNetwork<TestMessage & { pad: string }>()
  const pad = 'x'.repeat(100 * 1024)
  // 64 x 100 KiB = 6.4 MiB, 25 times Yamux's initial 256 KiB window, in rounds of 8 messages.
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < 8; i++) network.send(b.id, { type: 'append', group: 'g', term: 1, seq: round * 8 + i, pad })
    await waitFor(`round ${round}`, () => count === (round + 1) * 8)
  }
  t.equal(bytes, 64 * pad.length, 'every byte arrived')
})
