// RaftLink's reconnect loop on the virtual clock: capped exponential backoff with jitter, the
// queue dropped (and counted) while the peer is unreachable, and a reset after success.
import t from 'tap'
import { SeededRandom, VirtualClock } from '@blazar/env'
import { streamPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { TransportCounters } from '../src/counters.ts'
import { RaftLink } from '../src/raft-link.ts'
import { reconnectDelayMs } from '../src/index.ts'
import { resolveSettings } from '../src/settings.ts'

t.test('reconnectDelayMs grows exponentially, is capped, and keeps jitter in the upper half', async (t) => {
  t.equal(reconnectDelayMs(0, 100, 5000, 0), 50)
  t.equal(reconnectDelayMs(0, 100, 5000, 0.999), 100)
  t.equal(reconnectDelayMs(3, 100, 5000, 0), 400)
  t.equal(reconnectDelayMs(10, 100, 5000, 0), 2500)
  t.equal(reconnectDelayMs(1000, 100, 5000, 0.999), 4998)
})

t.test('failed dials back off on the clock and drop the queued messages', async (t) => {
  const clock = new VirtualClock()
  const counters = new TransportCounters()
  const settings = resolveSettings({ reconnectBaseDelayMs: 100, reconnectMaxDelayMs: 1000 })
  const dialTimes: number[] = []
  let succeed = false
  const link = new RaftLink('peer', {
    settings,
    clock,
    random: new SeededRandom(7),
    counters,
    dial: async () => {
      dialTimes.push(clock.now())
      if (!succeed) throw new Error('connection refused')
      const [outbound] = await streamPair()
      return outbound as Stream
    }
  })
  t.teardown(() => { link.stop() })
  link.enqueue(Uint8Array.of(0x80))
  link.enqueue(Uint8Array.of(0x80))
  await new Promise((resolve) => { setImmediate(resolve) }) // let the first dial fail before time moves
  for (let i = 0; i < 8; i++) {
    await clock.runUntil(clock.now() + 2000)
  }
  t.equal(counters.snapshot().raftMessagesDroppedUnreachable, 2, 'messages for an unreachable peer are dropped and counted')
  const gaps = dialTimes.slice(1).map((at, i) => at - dialTimes[i])
  t.ok(gaps.length >= 6, `${dialTimes.length} dials`)
  for (const [i, gap] of gaps.entries()) {
    const ceiling = Math.min(1000, 100 * 2 ** i)
    t.ok(gap >= ceiling / 2 && gap <= ceiling, `retry ${i} after ${gap} ms within [${ceiling / 2}, ${ceiling}]`)
  }
  succeed = true
  await clock.runUntil(clock.now() + 1000)
  t.equal(link.connected, true)
  t.equal(counters.snapshot().raftConnects, 1)
})

t.test('a peer that accepts and then closes at once is retried with growing delays', async (t) => {
  const clock = new VirtualClock()
  const counters = new TransportCounters()
  const settings = resolveSettings({ reconnectBaseDelayMs: 100, reconnectMaxDelayMs: 1000 })
  const dialTimes: number[] = []
  const link = new RaftLink('peer', {
    settings,
    clock,
    random: new SeededRandom(3),
    counters,
    dial: async () => {
      dialTimes.push(clock.now())
      const [outbound, inbound] = await streamPair()
      // the remote refuses right after the stream opened, as a non-member's streams are
      setImmediate(() => { inbound.abort(new Error('not a member')) })
      return outbound as Stream
    }
  })
  t.teardown(() => { link.stop() })
  link.connect()
  for (let i = 0; i < 12; i++) {
    await new Promise((resolve) => { setImmediate(resolve) })
    await new Promise((resolve) => { setImmediate(resolve) })
    await clock.runUntil(clock.now() + 500)
  }
  const gaps = dialTimes.slice(1).map((at, i) => at - dialTimes[i])
  t.ok(gaps.length >= 4 && gaps.length <= 12, `${dialTimes.length} dials in ${clock.now()} ms`)
  t.ok(gaps.slice(3).every((gap) => gap >= 500), `later retries wait at least half the cap: ${gaps.join(', ')}`)
})
