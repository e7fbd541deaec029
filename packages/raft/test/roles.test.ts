// Unit tests of the role machine on a VirtualClock with stub hooks: which timer fires when, and
// which transition it takes under which guard.
import t from 'tap'
import { timerApi, VirtualClock } from '@blazar/env'
import { createActor } from 'xstate'
import { type RoleHooks, roleMachine, roleOf } from '../src/roles.ts'

function harness (overrides: Partial<RoleHooks> = {}) {
  const clock = new VirtualClock()
  const calls: string[] = []
  let resetAt = 0
  const timeout = 300
  const hooks: RoleHooks = {
    electionDelayMs: () => Math.max(0, resetAt + timeout - clock.now()),
    electionDue: () => clock.now() - resetAt >= timeout,
    heartbeatIntervalMs: () => 50,
    checkQuorumIntervalMs: () => 300,
    corrupted: () => false,
    canCampaign: () => true,
    preVote: () => true,
    preCampaign: () => { calls.push(`preCampaign@${clock.now()}`); resetAt = clock.now() },
    campaign: () => { calls.push(`campaign@${clock.now()}`); resetAt = clock.now() },
    forceCampaign: () => { calls.push('forceCampaign') },
    lead: () => { calls.push(`lead@${clock.now()}`) },
    follow: () => { calls.push('follow') },
    restartElectionTimer: () => { resetAt = clock.now() },
    heartbeat: () => { calls.push(`heartbeat@${clock.now()}`) },
    checkQuorum: () => { calls.push(`checkQuorum@${clock.now()}`) },
    ...overrides
  }
  const actor = createActor(roleMachine, { input: { hooks }, clock: timerApi(clock) })
  actor.start()
  actor.send({ type: 'START' })
  return { clock, calls, actor, contact: () => { resetAt = clock.now() }, role: () => roleOf(actor.getSnapshot().value) }
}

t.test('a follower that hears from its leader never times out', async (t) => {
  const h = harness()
  for (let time = 100; time <= 2000; time += 100) {
    h.clock.runUntilSync(time)
    h.contact()
  }
  t.equal(h.role(), 'follower')
  t.same(h.calls, [])
})

t.test('silence: pre-vote first, then the election, then leadership with heartbeats', async (t) => {
  const h = harness()
  h.clock.runUntilSync(300)
  t.equal(h.role(), 'precandidate')
  t.same(h.calls, ['preCampaign@300'])
  h.actor.send({ type: 'PRE_VOTE_WON' })
  t.equal(h.role(), 'candidate')
  h.actor.send({ type: 'ELECTED' })
  t.equal(h.role(), 'leader')
  h.clock.runUntilSync(420)
  t.same(h.calls, ['preCampaign@300', 'campaign@300', 'lead@300', 'heartbeat@350', 'heartbeat@400'])
  h.clock.runUntilSync(600)
  t.ok(h.calls.includes('checkQuorum@600'))
  h.actor.send({ type: 'FOLLOW' })
  t.equal(h.role(), 'follower')
})

t.test('without pre-vote a timeout starts a real election; a learner never campaigns', async (t) => {
  const direct = harness({ preVote: () => false })
  direct.clock.runUntilSync(300)
  t.equal(direct.role(), 'candidate')
  const learner = harness({ canCampaign: () => false })
  learner.clock.runUntilSync(3000)
  t.equal(learner.role(), 'follower')
  t.same(learner.calls, [])
})

t.test('a quiesced follower runs no election timer until woken', async (t) => {
  const h = harness()
  h.actor.send({ type: 'QUIESCE' })
  h.clock.runUntilSync(5000)
  t.equal(h.role(), 'follower')
  t.same(h.calls, [])
  h.contact()
  h.actor.send({ type: 'WAKE' })
  h.clock.runUntilSync(5300)
  t.equal(h.role(), 'precandidate')
})

t.test('a quiesced leader runs no timer at all; WAKE restarts heartbeats and a full check-quorum interval', async (t) => {
  const h = harness()
  h.clock.runUntilSync(300)
  h.actor.send({ type: 'PRE_VOTE_WON' })
  h.actor.send({ type: 'ELECTED' })
  h.clock.runUntilSync(450)
  h.actor.send({ type: 'QUIESCE' })
  h.calls.length = 0
  h.clock.runUntilSync(5000)
  t.equal(h.role(), 'leader')
  t.same(h.calls, [])
  h.actor.send({ type: 'WAKE' })
  h.clock.runUntilSync(5299)
  t.equal(h.calls.filter((call) => call.startsWith('heartbeat')).length, 5)
  t.same(h.calls.filter((call) => call.startsWith('checkQuorum')), [])
  h.clock.runUntilSync(5300)
  t.same(h.calls.filter((call) => call.startsWith('checkQuorum')), ['checkQuorum@5300'])
})

t.test('a corrupted node stays inert', async (t) => {
  const h = harness({ corrupted: () => true })
  h.clock.runUntilSync(5000)
  t.equal(h.role(), undefined)
  t.same(h.actor.getSnapshot().value, 'corrupted')
  h.actor.send({ type: 'FOLLOW' })
  t.same(h.actor.getSnapshot().value, 'corrupted')
})
