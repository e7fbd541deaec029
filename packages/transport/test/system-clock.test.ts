// SystemClock (the real-time Clock for hosts): timers fire in deadline order, cancelled ones
// never fire, and timers due in the same slot fire in one wakeup.
import t from 'tap'
import { SystemClock } from '../src/index.ts'

t.test('timers fire in order, cancelled ones do not, and now() is monotonic', async (t) => {
  const clock = new SystemClock({ resolutionMs: 5 })
  t.teardown(() => { clock.stop() })
  const fired: string[] = []
  const done = new Promise<void>((resolve) => { clock.setTimer(40, () => { fired.push('c'); resolve() }) })
  clock.setTimer(20, () => { fired.push('b') })
  clock.setTimer(0, () => { fired.push('a') })
  const cancelled = clock.setTimer(10, () => { fired.push('x') })
  clock.clearTimer(cancelled)
  const start = clock.now()
  await done
  t.same(fired, ['a', 'b', 'c'])
  t.ok(clock.now() - start >= 39, 'not early')
  t.equal(clock.pending(), 0)
})

t.test('timers due in the same slot share one wakeup, and a throwing timer does not stop the others', async (t) => {
  const errors: unknown[] = []
  const clock = new SystemClock({ resolutionMs: 50, onError: (error) => { errors.push(error) } })
  t.teardown(() => { clock.stop() })
  const firedAt: number[] = []
  const done = new Promise<void>((resolve) => {
    clock.setTimer(1, () => { throw new Error('boom') })
    for (let i = 1; i <= 10; i++) clock.setTimer(i, () => { firedAt.push(clock.now()); if (firedAt.length === 10) resolve() })
  })
  await done
  t.ok(Math.max(...firedAt) - Math.min(...firedAt) < 5, 'all ten fired together')
  t.equal(errors.length, 1)
})
