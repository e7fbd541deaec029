import t from 'tap'
import fc from 'fast-check'
import { VirtualClock } from '@blazar/env'
import { RateTracker } from '../src/index.ts'

const window = { windowMs: 10_000, buckets: 10 }

t.test('a steady stream reads as its rate once the window is full, and as the same rate before', async (t) => {
  const clock = new VirtualClock()
  const rates = new RateTracker(clock, window)
  // 50 messages of 100 bytes every 100 ms = 500 msg/s, 50,000 B/s.
  for (let ms = 100; ms <= 30_000; ms += 100) {
    clock.runUntilSync(ms)
    rates.record(50, 5000)
    if (ms === 3000 || ms === 30_000) {
      const { msgRate, byteRate } = rates.rates()
      t.ok(Math.abs(msgRate - 500) <= 500 * 0.05, `msgRate ${msgRate} near 500 at ${ms} ms`)
      t.ok(Math.abs(byteRate - 50_000) <= 50_000 * 0.05, `byteRate ${byteRate} near 50,000 at ${ms} ms`)
    }
  }
})

t.test('traffic older than the window no longer counts; an idle tracker reads 0', async (t) => {
  const clock = new VirtualClock()
  const rates = new RateTracker(clock, window)
  clock.runUntilSync(20_000)
  rates.record(1000, 1000)
  t.ok(rates.rates().msgRate > 0)
  t.notOk(rates.idle())
  clock.runUntilSync(20_000 + window.windowMs + 1)
  t.equal(rates.rates().msgRate, 0)
  t.equal(rates.rates().byteRate, 0)
  t.ok(rates.idle())
})

t.test('a burst then silence: the rate falls as buckets leave the window', async (t) => {
  const clock = new VirtualClock()
  const rates = new RateTracker(clock, window)
  clock.runUntilSync(60_000)
  rates.record(600, 0)
  clock.runUntilSync(65_500)
  t.equal(rates.rates().msgRate, 600 / 9.5, '600 messages over the 9.5 s the window covers (9 whole buckets and half the current one)')
  clock.runUntilSync(71_000)
  t.equal(rates.rates().msgRate, 0, 'the burst bucket has left the window')
})

t.test('the rate equals the messages recorded in the window divided by its length (model)', async () => {
  fc.assert(fc.property(fc.array(fc.record({ gap: fc.integer({ min: 0, max: 3000 }), n: fc.nat({ max: 100 }) }), { maxLength: 60 }), (samples) => {
    const clock = new VirtualClock()
    clock.runUntilSync(window.windowMs * 5)
    const start = clock.now()
    const rates = new RateTracker(clock, window)
    const recorded: Array<{ at: number, n: number }> = []
    let now = start
    for (const sample of samples) {
      now += sample.gap
      clock.runUntilSync(now)
      rates.record(sample.n, sample.n * 10)
      recorded.push({ at: now, n: sample.n })
    }
    const bucketMs = window.windowMs / window.buckets
    const epoch = Math.floor(now / bucketMs)
    const inWindow = recorded.filter((r) => Math.floor(r.at / bucketMs) > epoch - window.buckets).reduce((sum, r) => sum + r.n, 0)
    const covered = Math.min((window.buckets - 1) * bucketMs + (now - epoch * bucketMs), now - start)
    const expected = inWindow / (Math.max(bucketMs, covered) / 1000)
    const got = rates.rates()
    return Math.abs(got.msgRate - expected) < 1e-9 && Math.abs(got.byteRate - expected * 10) < 1e-6
  }))
})

t.test('a window that cannot be cut into its buckets is refused', async (t) => {
  const clock = new VirtualClock()
  t.throws(() => new RateTracker(clock, { windowMs: 5, buckets: 10 }))
  t.throws(() => new RateTracker(clock, { windowMs: 1000, buckets: 0 }))
})
