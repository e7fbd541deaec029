// The dispatch oracles fire on what they guard against: an early delayed push on Shared, and a
// dispatcher with work, permits and no reason code that delivers nothing within the bound.
import t from 'tap'
import type { DispatchStats } from '@blazar/broker'
import type { DeliveredEntry } from '@blazar/protocol'
import { DELAYED_RELEASE_BOUND_MS, DISPATCH_PROGRESS_BOUND_MS, DispatchOracles } from '../src/dispatch-oracles.ts'

const entry = (deliverAtTime?: number): DeliveredEntry => ({
  messageId: { partition: 0, index: 7, batchIndex: 0 },
  redeliveryCount: 0,
  publishTime: 0,
  batch: { producerName: 'p', firstSequenceId: 0, lastSequenceId: 0, messageCount: 1, compression: 'NONE', uncompressedSize: 0, body: new Uint8Array(), ...(deliverAtTime === undefined ? {} : { deliverAtTime }) }
})

const stats = (over: Partial<DispatchStats>): DispatchStats => ({
  type: 'Shared', reason: null, pendingMessages: 3, redeliveryQueueMessages: 0, delayedMessages: 0, nextDelayedDeliveryAt: null, unackedMessages: 0, deliveredBatches: 5, oldestUnacked: null,
  consumers: [{ consumerId: 1, consumerName: 'c', permits: 10, unackedMessages: 0, blockedConsumerOnUnackedMsgs: false, blockedKeyHashes: [], blockedKeyHashCount: 0, reason: null, oldestUnacked: null }],
  ...over
})

t.test('a delayed batch pushed before its time on Shared is a violation; on Exclusive or on time it is not', async (t) => {
  const reports: string[] = []
  const oracles = new DispatchOracles((invariant, message) => { reports.push(`${invariant}: ${message}`) })
  oracles.pushed('n1', 's', 'Exclusive', [entry(5_000)], 1_000)
  oracles.pushed('n1', 's', 'Shared', [entry(5_000)], 5_000)
  oracles.pushed('n1', 's', 'Shared', [entry()], 0)
  t.same(reports, [])
  oracles.pushed('n2', 's', 'Key_Shared', [entry(5_000)], 4_999)
  t.match(reports, [/^queue-delayed-delivery: n2 pushed 0:7 of s at 4999, before its deliverAtTime 5000/])
})

t.test('dispatch liveness: work, permits and no reason must lead to a delivery within the bound', async (t) => {
  const reports: string[] = []
  const oracles = new DispatchOracles((invariant, message) => { reports.push(`${invariant}: ${message}`) })
  oracles.sampled('n1', 's', stats({}), 0)
  oracles.sampled('n1', 's', stats({ deliveredBatches: 6 }), 1_500)
  oracles.sampled('n1', 's', stats({ deliveredBatches: 6 }), 1_500 + DISPATCH_PROGRESS_BOUND_MS)
  t.same(reports, [], 'progress restarts the bound')
  oracles.sampled('n1', 's', stats({ reason: 'NO_PERMITS', deliveredBatches: 6 }), 10_000)
  oracles.sampled('n1', 's', stats({ reason: 'NO_PERMITS', deliveredBatches: 6 }), 20_000)
  t.same(reports, [], 'a reason code explains the stall')
  oracles.sampled('n1', 's', stats({ deliveredBatches: 6 }), 20_000)
  oracles.forget('n1')
  oracles.sampled('n1', 's', stats({ deliveredBatches: 6 }), 30_000)
  t.same(reports, [], 'a leader change forgets the watch')
  oracles.sampled('n1', 's', stats({ deliveredBatches: 6 }), 30_000 + DISPATCH_PROGRESS_BOUND_MS + 1)
  t.match(reports, [/^queue-dispatch-liveness: n1: s has 3 undelivered messages, permits \(c:10\) and no reason code/])
})

t.test('a delayed batch a running leader keeps in its index past its time for longer than the bound is a violation', async (t) => {
  const reports: string[] = []
  const oracles = new DispatchOracles((invariant, message) => { reports.push(`${invariant}: ${message}`) })
  const delayed = stats({ pendingMessages: 0, reason: 'ALL_DELAYED', delayedMessages: 1, nextDelayedDeliveryAt: 5_000 })
  oracles.sampled('n1', 's', delayed, 9_000)
  t.same(reports, [], 'first seen overdue (a resumed process has not run its timers yet)')
  oracles.forget('n1')
  oracles.sampled('n1', 's', delayed, 12_000)
  oracles.sampled('n1', 's', delayed, 12_000 + DELAYED_RELEASE_BOUND_MS)
  t.same(reports, [], 'paused in between: seen again from scratch, within the bound')
  oracles.sampled('n1', 's', delayed, 12_001 + DELAYED_RELEASE_BOUND_MS)
  t.match(reports, [/^queue-delayed-delivery: n1\/s: a delayed batch due at 5000 still waits in the delayed index at 13001 \(overdue since 12000\)/])
})

t.test('a redelivery count above the pushes before it is a violation, whichever leader pushed', async (t) => {
  const reports: string[] = []
  const oracles = new DispatchOracles((invariant, message) => { reports.push(`${invariant}: ${message}`) })
  const pushed = (redeliveryCount: number): DeliveredEntry => ({ ...entry(), redeliveryCount })
  oracles.pushed('n1', 's', 'Shared', [pushed(0)], 0)
  oracles.pushed('n1', 's', 'Shared', [pushed(1)], 1)
  oracles.pushed('n2', 's', 'Shared', [pushed(0)], 2)
  oracles.pushed('n2', 's', 'Shared', [pushed(3)], 3)
  t.same(reports, [], 'at most the pushes before (a new leader starts again at 0)')
  oracles.pushed('n2', 'other', 'Exclusive', [pushed(1)], 4)
  t.match(reports, [/^queue-redelivery-count: n2 pushed 0:7 of other with redeliveryCount 1, but it was pushed only 0 times before/])
})
