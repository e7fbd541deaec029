import t from 'tap'
import { VirtualClock } from '@blazar/env'
import { NodeRuntime } from '../src/node-runtime.ts'

t.test('a pause holds timers and deliveries and releases them in arrival order at resume', async (t) => {
  const clock = new VirtualClock()
  const runtime = new NodeRuntime('n1', clock)
  const seen: string[] = []
  runtime.processClock.setTimer(10, () => seen.push(`timer@${clock.now()}`))
  runtime.pause()
  runtime.deliver(() => seen.push(`message@${clock.now()}`))
  clock.runUntilSync(50)
  t.same(seen, [], 'nothing runs while paused')
  runtime.resume()
  clock.runUntilSync(50)
  t.same(seen, ['message@50', 'timer@50'], 'the message arrived (t=0) before the timer fell due (t=10)')
})

t.test('a crash cancels timers and held work; callbacks of the old incarnation never run', async (t) => {
  const clock = new VirtualClock()
  const runtime = new NodeRuntime('n1', clock)
  const seen: string[] = []
  runtime.processClock.setTimer(10, () => seen.push('old timer'))
  runtime.diskClock.setTimer(5, () => seen.push('old disk'))
  runtime.pause()
  runtime.deliver(() => seen.push('old message'))
  runtime.crash()
  runtime.deliver(() => seen.push('message to a dead node'))
  runtime.restart()
  runtime.processClock.setTimer(20, () => seen.push('new timer'))
  clock.runUntilSync(100)
  t.same(seen, ['new timer'])
  t.equal(runtime.incarnation, 1)
})

t.test('frozen timers hold only the process clock; clearTimer cancels held work', async (t) => {
  const clock = new VirtualClock()
  const runtime = new NodeRuntime('n1', clock)
  const seen: string[] = []
  runtime.freezeTimers()
  runtime.processClock.setTimer(10, () => seen.push('election'))
  const cancelled = runtime.processClock.setTimer(10, () => seen.push('cancelled'))
  runtime.diskClock.setTimer(10, () => seen.push('sync'))
  runtime.deliver(() => seen.push('message'))
  clock.runUntilSync(30)
  t.same(seen, ['message', 'sync'])
  runtime.processClock.clearTimer(cancelled)
  runtime.thawTimers()
  clock.runUntilSync(40)
  t.same(seen, ['message', 'sync', 'election'])
})

t.test('a timer cleared between resume and its release does not fire', async (t) => {
  const clock = new VirtualClock()
  const runtime = new NodeRuntime('n1', clock)
  const seen: string[] = []
  const handle = runtime.processClock.setTimer(10, () => seen.push('fired'))
  runtime.pause()
  clock.runUntilSync(20)
  runtime.resume()
  runtime.processClock.clearTimer(handle)
  clock.runUntilSync(30)
  t.same(seen, [])
})
