// The client's deterministic pieces on their own: permits, routing, retry delays and
// retryability, receiver queue and negative acks on a manual clock, service URLs, batch bounds.
import t from 'tap'
import {
  BackpressureError, ConsumerBusyError, MessageId, MetadataUnavailableError, NotLeaderError, OutcomeUnknownError, ProducerBusyError, ProducerClosedError, TimeoutError, UnknownTopicError, keyHash
} from '@blazar/protocol'
import { StreamClosedError } from '@blazar/transport'
import { BatchBuilder, messageBytes } from '../src/batch-builder.ts'
import { NegativeAcks } from '../src/negative-acks.ts'
import { PermitTracker } from '../src/permits.ts'
import { ReceiverQueue } from '../src/receiver-queue.ts'
import { finalError, retryDelayMs, withRetries } from '../src/retry.ts'
import { MessageRouter, isRetryable, serviceUrls, type Message } from '../src/index.ts'
import { ManualTimers } from './fixtures/manual-timers.ts'

const peer = '/ip4/127.0.0.1/tcp/6650/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'

function message (index: number): Message {
  return { messageId: new MessageId(-1, index, 0), data: new Uint8Array(), key: undefined, properties: {}, publishTime: 0, eventTime: 0, redeliveryCount: 0, topic: 't' }
}

t.test('permits: the whole queue on subscribe, then refills once half was taken', async (t) => {
  const permits = new PermitTracker(10)
  t.equal(permits.reset(), 10)
  t.same([1, 1, 1, 1].map((n) => permits.took(n)), [0, 0, 0, 0])
  t.equal(permits.took(1), 5, 'the fifth message taken grants five')
  t.equal(permits.took(3), 0)
  t.equal(permits.reset(), 10, 'a resubscribe grants the whole queue and forgets what was taken')
  t.equal(permits.took(4), 0)
  t.equal(new PermitTracker(1).took(1), 1, 'a queue of one refills after every message')
})

t.test('routing: keys by Murmur3 hash modulo partitions, keyless round robin or one partition', async (t) => {
  const router = new MessageRouter(3, 'RoundRobinDistribution', 1)
  t.same([undefined, undefined, undefined, undefined].map((key) => router.partitionFor(key)), [1, 2, 0, 1])
  for (const key of ['a', 'order-17', 'ключ']) t.equal(router.partitionFor(key), keyHash(key) % 3)
  const single = new MessageRouter(5, 'UseSinglePartition', 3)
  t.same([single.partitionFor(undefined), single.partitionFor(undefined), single.partitionFor('k')], [3, 3, keyHash('k') % 5])
})

t.test('retry delays double from the base and are capped', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 10].map(retryDelayMs), [50, 100, 200, 400, 800, 1000, 1000])
})

t.test('retryability depends on the error and what is retried', async (t) => {
  const notLeader = new NotLeaderError({ group: 'g', leaderHint: null })
  const unknown = new OutcomeUnknownError({ operation: 'send', reason: 'x' })
  for (const scope of ['send', 'attach', 'reattach', 'read', 'admin-write'] as const) t.ok(isRetryable(notLeader, scope), `NOT_LEADER retries for ${scope}`)
  t.ok(isRetryable(unknown, 'send'))
  t.notOk(isRetryable(unknown, 'admin-write'), 'an admin write whose outcome is unknown is not repeated')
  t.ok(isRetryable(new StreamClosedError(), 'send'), 'a closed connection retries')
  for (const scope of ['send', 'attach', 'reattach', 'read', 'admin-write'] as const) {
    t.ok(isRetryable(new MetadataUnavailableError({ reason: 'behind' }), scope), `METADATA_UNAVAILABLE retries for ${scope}: nothing took effect`)
    t.ok(isRetryable(new BackpressureError({ resource: 'storage write queue', limit: 1 }), scope), `BACKPRESSURE retries for ${scope}: nothing was appended`)
  }
  t.notOk(isRetryable(new UnknownTopicError({ topic: 't' }), 'send'), 'UNKNOWN_TOPIC passes through')
  t.ok(isRetryable(new ProducerClosedError({ topic: 't', producerName: 'p' }), 'send'), 'a dropped handle is attached again')
  t.notOk(isRetryable(new ProducerBusyError({ topic: 't', producerName: 'p' }), 'attach'), 'a busy name fails the first attach')
  t.ok(isRetryable(new ConsumerBusyError({ topic: 't', subscription: 's' }), 'reattach'), 'but not a re-attach after failover')
  t.notOk(isRetryable(new TypeError('bug'), 'read'), 'a programming error is not retried')
})

t.test('the final error is the node\'s last error, else a TimeoutError', async (t) => {
  const notLeader = new NotLeaderError({ group: 'g', leaderHint: null })
  t.equal(finalError('send', 100, notLeader), notLeader)
  const timeout = finalError('send', 100, new StreamClosedError())
  t.ok(timeout instanceof TimeoutError)
  t.ok((timeout as Error).cause instanceof StreamClosedError, 'the transport failure is the cause')
  t.ok(finalError('send', 100, undefined) instanceof TimeoutError)
})

t.test('withRetries retries until the deadline on the manual clock, then fails with the last error', async (t) => {
  const timers = new ManualTimers()
  let attempts = 0
  const running = withRetries({ operation: 'op', scope: 'read', timers, deadline: 500, timeoutMs: 500 }, async () => {
    attempts++
    throw new NotLeaderError({ group: 'g', leaderHint: null })
  })
  const outcome = running.catch((error: unknown) => error)
  for (let i = 0; i < 20; i++) { await new Promise<void>((resolve) => { setImmediate(resolve) }); timers.advance(50) }
  t.ok(await outcome instanceof NotLeaderError)
  t.equal(attempts, 4, 'attempts at 0, 50, 150 and 350 ms; none starts at the deadline (500 ms)')
  t.equal(await withRetries({ operation: 'op', scope: 'read', timers, deadline: timers.now() + 1, timeoutMs: 1 }, async () => 7), 7)
  await t.rejects(withRetries({ operation: 'op', scope: 'read', timers, deadline: timers.now() + 10, timeoutMs: 10 }, async () => {
    throw new UnknownTopicError({ topic: 't' })
  }), UnknownTopicError, 'a non-retryable error fails at once')
})

t.test('receiver queue: hands out in order, wakes waiters, times out, bounds, drops an owner, closes', async (t) => {
  const timers = new ManualTimers()
  const taken: string[] = []
  const a = { took: (n: number) => { taken.push(`a${n}`) } }
  const b = { took: (n: number) => { taken.push(`b${n}`) } }
  const queue = new ReceiverQueue(3, timers)
  t.same(queue.push(a, [message(1), message(2)]), [])
  t.same(queue.push(b, [message(3), message(4)]), [], 'a push starting below the capacity is taken whole (a batch may overshoot the permits)')
  t.same(queue.push(b, [message(6)]).map((m) => m.messageId.index), [6], 'a push arriving at or over the capacity is handed back')
  t.equal((await queue.receive()).messageId.index, 1)
  t.equal(queue.removeOwner(a), 1, 'an owner re-subscribing drops its queued messages')
  t.equal((await queue.receive()).messageId.index, 3)
  t.equal((await queue.receive()).messageId.index, 4)
  const waiting = queue.receive()
  queue.push(a, [message(5)])
  t.equal((await waiting).messageId.index, 5, 'a waiting receive gets the next push')
  t.same(taken, ['a1', 'b1', 'b1', 'a1'])
  const timingOut = queue.receive(100)
  timers.advance(99)
  const late = queue.receive(100)
  timers.advance(1)
  await t.rejects(timingOut, TimeoutError)
  queue.close(new Error('closed'))
  await t.rejects(late, { message: 'closed' })
  await t.rejects(queue.receive(), { message: 'closed' })
})

t.test('negative acks are redelivered after the delay, in one request, and bounded', async (t) => {
  const timers = new ManualTimers()
  const redelivered: number[][] = []
  const nacks = new NegativeAcks({ delayMs: 1000, timers, redeliver: (ids) => { redelivered.push(ids.map((id) => id.index)) } })
  nacks.add(new MessageId(-1, 1, 0))
  timers.advance(500)
  nacks.add(new MessageId(-1, 2, 0))
  nacks.add(new MessageId(-1, 3, 0))
  timers.advance(499)
  t.same(redelivered, [])
  timers.advance(1)
  t.same(redelivered, [[1]])
  timers.advance(500)
  t.same(redelivered, [[1], [2, 3]])
  t.equal(nacks.size, 0)
  t.equal(timers.scheduled, 0, 'no timer left once nothing waits')
  nacks.add(new MessageId(-1, 9, 0))
  nacks.clear()
  timers.advance(2000)
  t.same(redelivered.length, 2, 'cleared nacks are not sent')
})

t.test('service URLs: lists, comma-separated strings, the environment, and refusal of non-multiaddrs', async (t) => {
  t.same(serviceUrls([peer]), [peer])
  t.same(serviceUrls(`${peer}, ${peer}`), [peer, peer])
  t.same(serviceUrls(undefined, { BLAZAR_SERVICE_URL: peer }), [peer])
  t.throws(() => serviceUrls(undefined, {}), { code: 'INVALID_ARGUMENT' })
  t.throws(() => serviceUrls('pulsar://localhost:6650'), { code: 'INVALID_ARGUMENT' })
})

t.test('batch builder counts bytes and messages', async (t) => {
  const builder = new BatchBuilder(2, 100)
  const pending = (size: number) => ({
    message: { payload: new Uint8Array(size), properties: {}, eventTime: 0, sequenceId: 0 }, bytes: size, enqueuedAt: 0, resolve: () => {}, reject: () => {}
  })
  t.notOk(builder.wouldOverflow(1000), 'an empty batch takes any message')
  builder.add(pending(60))
  t.ok(builder.wouldOverflow(41))
  t.notOk(builder.full)
  builder.add(pending(10))
  t.ok(builder.full, 'full by message count')
  t.equal(builder.drain().length, 2)
  t.equal(builder.bytes, 0)
  t.equal(messageBytes({ payload: new Uint8Array(10), key: 'ab', properties: { k: 'vv' }, eventTime: 0 }), 10 + 32 + 2 + 5)
})
