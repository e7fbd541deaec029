// "Why is my consumer stuck", end to end in one process: each way a consumer can be left stuck
// is made on the broker's own dispatchers (a partition state machine on the virtual clock, no
// network), their stats go into the subscription row of `topics-stats` as the node answers it,
// and `blazar topics stats` must print the reason in plain words, for the subscription and for
// the consumer. The real-process check of the CLI is in consumer-delayed-leader-kill.test.ts.
import t, { type Test } from 'tap'
import { SeededRandom, VirtualClock, silentLogger, type Env } from '../packages/env/src/index.ts'
import { CompressionCodecs, encodeBatch, encodePartitionEntry, parseClientReply, type DispatchBlockReason, type PartitionEntry } from '@blazar/protocol'
import type { TopicStats } from '@blazar/client'
import {
  PartitionReplica, PartitionStateMachine, exclusiveDispatcher, keySharedDispatcher, sharedDispatcher,
  type DispatchLimits, type DispatchStats, type DispatcherOptions, type SubscriptionDispatcher
} from '../packages/broker/src/index.ts'
import { reasonInWords, topicStatsLines } from '../packages/cli/src/commands/topic-stats-text.ts'

const TOPIC = 'persistent://public/default/stuck'
const codecs = new CompressionCodecs()
const settle = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

/** A partition log applied the way Raft would, a subscription `s`, and one dispatcher of it. */
function partition<D extends SubscriptionDispatcher> (make: (options: DispatcherOptions) => D, limits?: Partial<DispatchLimits>) {
  const clock = new VirtualClock()
  const env: Env = { clock, random: new SeededRandom(1), logger: silentLogger }
  const sm = new PartitionStateMachine({ topic: TOPIC, partition: 0, logger: silentLogger })
  let index = 0
  const commit = (entry: PartitionEntry): number => {
    const { kind, data } = encodePartitionEntry(entry)
    sm.apply({ index: ++index, term: 1, kind, data })
    return index
  }
  commit({ kind: 'subscription', body: { op: 'create', subscription: 's', type: 'Shared', initialPosition: 'Earliest' } })
  let sequenceId = 0
  const publish = (options: { key?: string, deliverAtTime?: number } = {}): number => {
    const body = encodeBatch([{ ...options, properties: {}, payload: new Uint8Array(4), eventTime: 0, sequenceId }], { producerName: 'p' }, codecs)
    sequenceId++
    return commit({ kind: 'batch', body: { ...body, publishTime: clock.now() } })
  }
  const dispatcher = make({
    env, topic: TOPIC, partition: 0, cursor: sm.cursor('s')!, source: sm,
    deliver: () => {},
    proposeCursor: async (update) => { commit({ kind: 'cursor', body: update }) },
    limits
  })
  const run = async (ms: number): Promise<void> => {
    await settle()
    await clock.runUntil(clock.now() + ms)
    await settle()
  }
  return { sm, publish, dispatcher, run }
}

/**
 * The `topics-stats` answer for one subscription, its dispatch fields as the node fills them
 * from the dispatcher's stats, validated by the wire schema the client decodes it with.
 */
function topicStats (dispatch: DispatchStats, backlog: number): TopicStats {
  const reply = parseClientReply({ ok: true, result: topicStatsRow(dispatch, backlog) }, 'topics-stats')
  if (!reply.ok) throw new Error('not an answer')
  return reply.result as TopicStats
}

function topicStatsRow (dispatch: DispatchStats, backlog: number): TopicStats {
  return {
    topic: TOPIC, partitions: 0, messagesIn: backlog, bytesIn: 0,
    subscriptions: [{
      name: 's', type: dispatch.type, markDelete: 0, backlog, consumers: dispatch.consumers.length, durable: true,
      reason: dispatch.reason, redeliveryQueueMessages: dispatch.redeliveryQueueMessages, delayedMessages: dispatch.delayedMessages,
      oldestUnacked: dispatch.oldestUnacked, unackedMessages: dispatch.unackedMessages,
      consumerStats: dispatch.consumers.map(({ consumerId: _, ...consumer }) => consumer)
    }]
  }
}

function expectPrinted (t: Test, dispatch: DispatchStats, backlog: number, reason: DispatchBlockReason, consumerReason: DispatchBlockReason | null = reason): void {
  t.equal(dispatch.reason, reason, `the subscription's reason code is ${reason}`)
  const text = topicStatsLines(topicStats(dispatch, backlog)).join('\n')
  t.ok(text.includes(`dispatch is not progressing: ${reasonInWords(reason)}`), `the subscription line says: ${reasonInWords(reason)}`, { text })
  if (consumerReason !== null) t.ok(text.includes(`not receiving: ${reasonInWords(consumerReason)}`), `a consumer line says: ${reasonInWords(consumerReason)}`, { text })
}

t.test('NO_CONSUMERS: messages wait and nobody is subscribed', async (t) => {
  const { publish, dispatcher, sm } = partition(sharedDispatcher)
  publish()
  expectPrinted(t, dispatcher.stats(), sm.backlog('s'), 'NO_CONSUMERS', null)
})

t.test('NO_PERMITS: the consumer took its receiver queue and takes no more', async (t) => {
  const { publish, dispatcher, run, sm } = partition(exclusiveDispatcher)
  publish()
  publish()
  dispatcher.attach({ consumerId: 1, consumerName: 'slow-reader' })
  dispatcher.flow(1, 1)
  await run(100)
  expectPrinted(t, dispatcher.stats(), sm.backlog('s'), 'NO_PERMITS')
})

t.test('UNACKED_LIMIT: permits left, but too many messages unacknowledged', async (t) => {
  const { publish, dispatcher, run, sm } = partition(sharedDispatcher, { maxUnackedMessagesPerConsumer: 2 })
  for (let i = 0; i < 4; i++) publish()
  dispatcher.attach({ consumerId: 1, consumerName: 'no-acks' })
  dispatcher.flow(1, 100)
  await run(100)
  expectPrinted(t, dispatcher.stats(), sm.backlog('s'), 'UNACKED_LIMIT')
})

t.test('KEY_BLOCKED_BY_UNACKED: a key moved to a new consumer waits for the old one\'s acks', async (t) => {
  const { publish, dispatcher, run, sm } = partition(keySharedDispatcher)
  dispatcher.attach({ consumerId: 1, consumerName: 'first' })
  dispatcher.flow(1, 100)
  const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`)
  for (const key of keys) publish({ key })
  await run(10)
  dispatcher.attach({ consumerId: 2, consumerName: 'second' })
  dispatcher.flow(2, 100)
  const moved = keys.filter((key) => dispatcher.policy.ownerOf(key) === 2)
  t.ok(moved.length > 0, 'the ring gives the second consumer some keys')
  for (const key of moved) publish({ key })
  await run(10)
  const stats = dispatcher.stats()
  expectPrinted(t, stats, sm.backlog('s'), 'KEY_BLOCKED_BY_UNACKED')
  t.ok(topicStatsLines(topicStats(stats, sm.backlog('s'))).join('\n').includes('blocked key hash(es)'), 'the blocked key hashes are listed')
})

t.test('ALL_DELAYED: everything left is due later', async (t) => {
  const { publish, dispatcher, run, sm } = partition(sharedDispatcher)
  publish({ deliverAtTime: 60_000 })
  dispatcher.attach({ consumerId: 1, consumerName: 'waiting' })
  dispatcher.flow(1, 100)
  await run(100)
  expectPrinted(t, dispatcher.stats(), sm.backlog('s'), 'ALL_DELAYED')
})

t.test('LEADER_MOVING: the dispatcher closed with the leadership, or this replica does not lead', async (t) => {
  const { publish, dispatcher, run, sm } = partition(sharedDispatcher)
  publish()
  dispatcher.attach({ consumerId: 1, consumerName: 'moving' })
  await run(10)
  dispatcher.close('leadership moved')
  expectPrinted(t, dispatcher.stats(), sm.backlog('s'), 'LEADER_MOVING', null)
  const clock = new VirtualClock()
  const follower = new PartitionReplica({
    env: { clock, random: new SeededRandom(2), logger: silentLogger }, sm, self: 'n2',
    propose: async () => { throw new Error('a follower proposes nothing') }, leader: () => null, deliver: () => {}, consumerClosed: () => {}
  })
  expectPrinted(t, follower.subscriptionStats('s'), sm.backlog('s'), 'LEADER_MOVING', null)
})
