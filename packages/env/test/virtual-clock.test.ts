import t from 'tap'
import { VirtualClock } from '../src/index.ts'

t.test('timers fire in deadline order, ties in scheduling order', async (t) => {
  const clock = new VirtualClock()
  const fired: string[] = []
  clock.setTimer(20, () => fired.push(`b@${clock.now()}`))
  clock.setTimer(10, () => fired.push(`a@${clock.now()}`))
  clock.setTimer(20, () => fired.push(`c@${clock.now()}`))
  await clock.runUntil(100)
  t.same(fired, ['a@10', 'b@20', 'c@20'])
  t.equal(clock.now(), 100)
})

t.test('a cleared timer never fires and a periodic timer keeps its cadence', async (t) => {
  const clock = new VirtualClock()
  let ticks = 0
  const cancelled = clock.setTimer(5, () => { ticks += 1000 })
  clock.clearTimer(cancelled)
  const tick = (): void => { ticks++; clock.setTimer(50, tick) }
  clock.setTimer(50, tick)
  clock.runUntilSync(1000)
  t.equal(ticks, 20, 'one tick per 50 ms over 1 s')
})

t.test('promise continuations settle before the next timer', async (t) => {
  const clock = new VirtualClock()
  const order: string[] = []
  clock.setTimer(1, () => { void Promise.resolve().then(() => Promise.resolve()).then(() => order.push('continuation')) })
  clock.setTimer(1, () => order.push('second timer'))
  await clock.runUntil(2)
  t.same(order, ['continuation', 'second timer'])
})

t.test('negative delays are rejected', async (t) => {
  t.throws(() => new VirtualClock().setTimer(-1, () => {}), RangeError)
})
