import t from 'tap'
import { SeededRandom, VirtualClock } from '@blazar/env'
import { SimNetwork } from '../src/network.ts'

function setup (seed = 1) {
  const clock = new VirtualClock()
  const events: string[] = []
  const network = new SimNetwork<string>({ clock, random: new SeededRandom(seed), describe: (m) => m, onEvent: (line) => events.push(`${clock.now()} ${line}`) })
  const received: string[] = []
  for (const id of ['a', 'b', 'c']) network.attach(id, { receive: (from, message) => received.push(`${from}>${id}:${message}`) })
  return { clock, network, received, events }
}

t.test('delivers after a delay; cuts block one direction each, named cuts heal independently', async (t) => {
  const { clock, network, received } = setup()
  network.cut('one-way', [['a', 'b']])
  network.cut('other', [['c', 'a']])
  network.send('a', 'b', 'x')
  network.send('b', 'a', 'y')
  network.send('c', 'a', 'z')
  clock.runUntilSync(1_000)
  t.same(received, ['b>a:y'])
  network.heal('one-way')
  network.send('a', 'b', 'x2')
  network.send('c', 'a', 'z2')
  clock.runUntilSync(2_000)
  t.same(received, ['b>a:y', 'a>b:x2'])
  t.same(network.cutNames(), ['other'])
})

t.test('a message in flight when a cut starts is lost', async (t) => {
  const { clock, network, received } = setup()
  network.profile = { minDelayMs: 10, meanExtraDelayMs: 0, dropRate: 0, duplicateRate: 0, replayRate: 0 }
  network.send('a', 'b', 'x')
  clock.runUntilSync(5)
  network.cut('late', [['a', 'b']])
  clock.runUntilSync(100)
  t.same(received, [])
})

t.test('loss, duplication and replay follow the profile, and the seed decides them', async (t) => {
  const run = (seed: number) => {
    const { clock, network, received, events } = setup(seed)
    network.profile = { minDelayMs: 1, meanExtraDelayMs: 20, dropRate: 0.3, duplicateRate: 0.3, replayRate: 0.2 }
    for (let i = 0; i < 200; i++) network.send('a', 'b', `m${i}`)
    clock.runUntilSync(100_000)
    return { received, events }
  }
  const first = run(7)
  t.same(run(7), first, 'same seed, same deliveries in the same order')
  t.not(JSON.stringify(run(8).received), JSON.stringify(first.received))
  const unique = new Set(first.received)
  t.ok(unique.size < 200, 'some messages were dropped')
  t.ok(first.received.length > unique.size, 'some were delivered more than once')
  const order = first.received.map((m) => Number(m.slice(5)))
  t.ok(order.some((n, i) => i > 0 && n < order[i - 1]), 'some were reordered')
})
