// Unit tests of the role machine on a VirtualClock with stub hooks: which timers each role runs,
// when they fire, and that the machine only follows the role changes it is told of (the core
// decides them).
import t from 'tap'
import { timerApi, VirtualClock } from '@blazar/env'
import { createActor } from 'xstate'
import { quiescedIn, type RoleHooks, roleMachine, roleOf } from '../src/roles.ts'

function harness (overrides: Partial<RoleHooks> = {}) {
  const clock = new VirtualClock()
  const calls: string[] = []
  let resetAt = 0
  const timeout = 300
  const hooks: RoleHooks = {
    electionDelayMs: () => Math.max(0, resetAt + timeout - clock.now()),
    heartbeatIntervalMs: () => 50,
    checkQuorumIntervalMs: () => 300,
    corrupted: () => false,
    // Like the core: a due timeout always moves the reset time (a new round or a restart).
    tickElection: () => {
      calls.push(`electionTimeout@${clock.now()}`)
      if (clock.now() - resetAt >= timeout) resetAt = clock.now()
    },
    tickHeartbeat: () => { calls.push(`heartbeat@${clock.now()}`) },
    tickQuorum: () => { calls.push(`checkQuorum@${clock.now()}`) },
    ...overrides
  }
  const actor = createActor(roleMachine, { input: { hooks }, clock: timerApi(clock) })
  actor.start()
  actor.send({ type: 'START' })
  return {
    clock,
    calls,
    actor,
    /** Leader contact or a role change: the core moved the election timer's reset time. */
    reset: () => { resetAt = clock.now() },
    role: () => roleOf(actor.getSnapshot().value)
  }
}

t.test('a follower whose reset time keeps moving re-arms for the time left and never leaves the role itself', async (t) => {
  const h = harness()
  for (let time = 100; time <= 2000; time += 100) {
    h.clock.runUntilSync(time)
    h.reset()
  }
  t.equal(h.role(), 'follower')
  // The timer fired early (300 ms after each reset time it had missed) and only asked the core.
  t.same(h.calls, ['electionTimeout@300', 'electionTimeout@500', 'electionTimeout@700', 'electionTimeout@900',
    'electionTimeout@1100', 'electionTimeout@1300', 'electionTimeout@1500', 'electionTimeout@1700', 'electionTimeout@1900'])
  h.calls.length = 0
  h.clock.runUntilSync(2600)
  t.same(h.calls, ['electionTimeout@2100', 'electionTimeout@2300', 'electionTimeout@2600'])
  t.equal(h.role(), 'follower', 'the core decides: without a role change the machine stays a follower')
})

t.test('each role runs its own timers, re-armed by every role change the core reports', async (t) => {
  const h = harness()
  h.clock.runUntilSync(300)
  h.reset()
  h.actor.send({ type: 'BECAME_PRECANDIDATE' })
  t.equal(h.role(), 'precandidate')
  h.clock.runUntilSync(600)
  t.same(h.calls, ['electionTimeout@300', 'electionTimeout@600'])
  t.equal(h.role(), 'precandidate', 'a timeout is an input to the core, not a transition')
  h.reset()
  h.actor.send({ type: 'BECAME_CANDIDATE' })
  h.clock.runUntilSync(700)
  h.reset()
  h.actor.send({ type: 'BECAME_LEADER' })
  t.equal(h.role(), 'leader')
  h.calls.length = 0
  h.clock.runUntilSync(820)
  t.same(h.calls, ['heartbeat@750', 'heartbeat@800'], 'no election timer on a leader')
  h.clock.runUntilSync(1000)
  t.ok(h.calls.includes('checkQuorum@1000'))
  h.reset()
  h.actor.send({ type: 'BECAME_FOLLOWER' })
  t.equal(h.role(), 'follower')
  h.calls.length = 0
  h.clock.runUntilSync(1400)
  t.same(h.calls, ['electionTimeout@1300'])
})

t.test('the same role reported again restarts its timer (a new round)', async (t) => {
  const h = harness()
  h.actor.send({ type: 'BECAME_CANDIDATE' })
  h.clock.runUntilSync(200)
  h.reset()
  h.actor.send({ type: 'BECAME_CANDIDATE' })
  h.clock.runUntilSync(499)
  t.same(h.calls, [])
  h.clock.runUntilSync(500)
  t.same(h.calls, ['electionTimeout@500'])
})

t.test('a quiesced follower runs no election timer until woken', async (t) => {
  const h = harness()
  h.actor.send({ type: 'QUIESCED' })
  t.ok(quiescedIn(h.actor.getSnapshot().value))
  h.clock.runUntilSync(5000)
  t.equal(h.role(), 'follower')
  t.same(h.calls, [])
  h.reset()
  h.actor.send({ type: 'WOKE' })
  t.notOk(quiescedIn(h.actor.getSnapshot().value))
  h.clock.runUntilSync(5300)
  t.same(h.calls, ['electionTimeout@5300'])
})

t.test('a quiesced leader runs no timer at all; WOKE restarts heartbeats and a full check-quorum interval', async (t) => {
  const h = harness()
  h.actor.send({ type: 'BECAME_LEADER' })
  h.clock.runUntilSync(150)
  h.actor.send({ type: 'QUIESCED' })
  t.ok(quiescedIn(h.actor.getSnapshot().value))
  h.calls.length = 0
  h.clock.runUntilSync(5000)
  t.equal(h.role(), 'leader')
  t.same(h.calls, [])
  h.actor.send({ type: 'WOKE' })
  h.clock.runUntilSync(5299)
  t.equal(h.calls.filter((call) => call.startsWith('heartbeat')).length, 5)
  t.same(h.calls.filter((call) => call.startsWith('checkQuorum')), [])
  h.clock.runUntilSync(5300)
  t.same(h.calls.filter((call) => call.startsWith('checkQuorum')), ['checkQuorum@5300'])
})

t.test('a corrupted node runs no timers', async (t) => {
  const h = harness({ corrupted: () => true })
  h.clock.runUntilSync(5000)
  t.equal(h.role(), undefined)
  t.same(h.actor.getSnapshot().value, 'corrupted')
  t.same(h.calls, [])
  t.equal(h.clock.pending(), 0)
})
