// The admin subscription operations of PartitionReplica (Pulsar's subscription REST calls) on
// three real RaftNodes: create at a position, skip, skip all, expire, reset, peek, consumer
// stats, and delete (refused with consumers connected unless forced).
import t from 'tap'
import { cursorMoveTarget, expiryAdvances } from '../src/index.ts'
import { TestPartitionLog, batch } from './fixtures/partition-log.ts'
import { partitionCluster } from './fixtures/raft-cluster.ts'

t.test('create, skip, expire, reset, peek and delete through the leader', async (t) => {
  const c = partitionCluster(['a', 'b', 'c'], 7)
  const leader = await c.waitForLeader()
  // Holds every message against retention (no subscription means everything may be trimmed).
  await c.settle(leader.replica.createSubscription('hold', { at: 'earliest' }))
  const sent: number[] = []
  for (let i = 0; i < 6; i++) {
    sent.push((await c.settle(leader.replica.send(batch('p', i * 2, 2)))).messageId.index)
    await c.clock.runUntil(c.clock.now() + 1000)
  }
  await c.settle(leader.replica.createSubscription('audit', { at: 'earliest' }))
  await t.rejects(c.settle(leader.replica.createSubscription('audit', { at: 'earliest' })), { code: 'SUBSCRIPTION_ALREADY_EXISTS' })
  t.equal(leader.sm.backlog('audit'), 12, 'created at earliest: every message is backlog')
  await c.settle(leader.replica.createSubscription('from-third', { at: 'message', index: sent[2], batchIndex: -1 }))
  t.equal(leader.sm.backlog('from-third'), 8, 'created at a message id: that message and the later ones')

  const peeked = await c.settle(leader.replica.peek('audit', 3))
  t.equal(peeked?.batch.index, sent[1], 'the 3rd message is the first of the 2nd batch')
  t.equal(peeked?.batchIndex, 0)
  t.equal(await c.settle(leader.replica.peek('audit', 13)), undefined, 'beyond the backlog')

  await c.settle(leader.replica.moveSubscription('audit', { to: 'skip', messages: 3 }))
  t.equal(leader.sm.backlog('audit'), 8, 'skipping 3 messages passes the 2 batches holding them')
  t.equal(await c.settle(leader.replica.moveSubscription('audit', { to: 'skip', messages: 1 })), sent[2])

  // Batches were published 1 s apart, the newest 1 s (plus commit time) ago: all but the newest are older than 2 s.
  await c.settle(leader.replica.moveSubscription('audit', { to: 'expire', seconds: 2 }))
  t.equal(leader.sm.backlog('audit'), 2, 'expiry passed the batches published more than 2 s ago')
  const beforeNoop = leader.sm.cursor('audit')?.markDelete
  await c.settle(leader.replica.moveSubscription('audit', { to: 'expire', seconds: 3600 }))
  t.equal(leader.sm.cursor('audit')?.markDelete, beforeNoop, 'expiry never moves a cursor back')

  await c.settle(leader.replica.moveSubscription('audit', { to: 'position', position: { at: 'earliest' } }))
  t.equal(leader.sm.backlog('audit'), 12, 'reset to earliest')
  await c.settle(leader.replica.moveSubscription('audit', { to: 'skip-all' }))
  t.equal(leader.sm.backlog('audit'), 0, 'skip all')
  for (const host of c.hosts.values()) t.equal(host.sm.backlog('audit'), 0, `moves are replicated to ${host.id}`)
  await t.rejects(c.settle(leader.replica.moveSubscription('nope', { to: 'skip-all' })), { code: 'UNKNOWN_SUBSCRIPTION' })

  await c.settle(leader.replica.subscribe({ subscription: 'from-third', type: 'Shared', initialPosition: 'Earliest', consumer: { consumerId: 9, consumerName: 'w' } }))
  leader.replica.flow(9, 3)
  await c.clock.runUntil(c.clock.now() + 50)
  const stats = leader.replica.consumerStats().find((s) => s.subscription === 'from-third')
  t.match(stats?.consumers, [{ consumerId: 9, consumerName: 'w', permits: -1, unackedMessages: 4, blockedConsumerOnUnackedMsgs: false, reason: 'NO_PERMITS' }],
    'permits go negative by the last batch overshoot; 2 batches of 2 are unacknowledged')
  await t.rejects(c.settle(leader.replica.deleteSubscription('from-third', false)), { code: 'CONSUMER_BUSY' })
  await c.settle(leader.replica.deleteSubscription('from-third', true))
  t.same(c.closed.map((x) => x.consumer.consumerId), [9], 'a forced delete closes the consumers')
  t.equal(leader.sm.cursor('from-third'), undefined)
  await t.rejects(c.settle(leader.replica.deleteSubscription('from-third', false)), { code: 'UNKNOWN_SUBSCRIPTION' })
  for (const host of c.hosts.values()) host.node.stop()
})

t.test('cursor move targets on a plain state machine', async (t) => {
  const log = new TestPartitionLog()
  log.commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Shared', initialPosition: 'Earliest' } })
  const a = log.publish(batch('p', 0, 3), 1000)
  const b = log.publish(batch('p', 3, 3), 2000)
  t.same(cursorMoveTarget(log.sm, 's', { to: 'skip', messages: 4 }), { at: 'message', index: b + 1, batchIndex: -1 })
  t.same(expiryAdvances(log.sm, 2, 3500), [{ subscription: 's', markDelete: a }], 'expiry: only the batch published before 1.5 s')
  t.same(expiryAdvances(log.sm, 10, 3500), [], 'nothing old enough')
  t.same(expiryAdvances(log.sm, 0, 3500), [{ subscription: 's', markDelete: b }], 'expire 0 s: everything published before now')
  log.commit({ kind: 'cursor', body: { subscription: 's', generation: 0, markDelete: b, ackedRanges: [] } })
  t.equal(cursorMoveTarget(log.sm, 's', { to: 'skip-all' }), null, 'nothing left to skip')
  t.throws(() => cursorMoveTarget(log.sm, 'none', { to: 'skip', messages: 1 }), { code: 'UNKNOWN_SUBSCRIPTION' })
})
