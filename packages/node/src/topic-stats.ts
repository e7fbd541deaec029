// Topic statistics, each partition's served by its leader (here or forwarded): `topics-stats`
// (counters, sliding-window rates, subscriptions with their consumers, publishers; summed over
// the partitions of a partitioned topic, each partition's own stats kept in `perPartition`),
// `topics-internal-stats` (the partition's Raft state as its leader sees it: term, indexes,
// replicas and their lag) and `topics-last-message-id`.
import { groupsOfTopic, type TopicRecord } from '@blazar/broker'
import {
  UnknownTopicError, UnsupportedOperationError, parseTopicName, type ClientReply, type ClientRequestBody, type ClientResult, type TopicName
} from '@blazar/protocol'
import { atLeader, forward, ok, type GatewayContext } from './gateway-context.ts'
import type { HostedPartition } from './partition-service.ts'
import type { SessionState } from './session-state.ts'
import { findTopic } from './topic-resolution.ts'

type Body<T extends ClientRequestBody['type']> = Extract<ClientRequestBody, { type: T }>
type TopicStats = ClientResult<'topics-stats'>
type SubscriptionStats = TopicStats['subscriptions'][number]

/** Stats of one partition (at its leader) or, for a partitioned topic, summed over its partitions. */
export async function topicStats (context: GatewayContext, state: SessionState, body: Body<'topics-stats'>): Promise<ClientReply> {
  const { name, record } = await requireTopic(context, body.topic)
  if (record.partitions === 0 || name.partitionIndex >= 0) return await partitionStats(context, state, name.full)
  const parts: TopicStats[] = []
  for (const group of groupsOfTopic(record)) {
    const part = await partitionStats(context, state, group)
    if (!part.ok) return part
    parts.push(part.result as TopicStats)
  }
  return ok(sumStats(record, parts))
}

async function partitionStats (context: GatewayContext, state: SessionState, group: string): Promise<ClientReply> {
  return await atLeader(context, state, group, {
    local: async (partition) => ok(localStats(partition)),
    remote: async (node) => await forward(context, node, { type: 'topics-stats', topic: group })
  })
}

function localStats ({ group, sm, replica, rates }: HostedPartition): TopicStats {
  const stats = sm.stats()
  const inRates = rates.in.rates()
  const outRates = rates.out.rates()
  let backlogBytes = 0
  /** One subscription's row: the dispatcher's stats (the one path for dispatch state) with this partition's delivery rates. */
  const subscriptionRow = (name: string, row: { type: SubscriptionStats['type'], markDelete: number, backlog: number }): SubscriptionStats => {
    const dispatch = replica.subscriptionStats(name)
    const consumerRates = dispatch.consumers.map((consumer) => rates.consumer(consumer.consumerId))
    const consumerStats = dispatch.consumers.map(({ consumerId: _, ...consumer }, i) => ({
      ...consumer,
      msgRateOut: consumerRates[i]!.msgRateOut,
      msgThroughputOut: consumerRates[i]!.msgThroughputOut
    }))
    return {
      name,
      ...row,
      consumers: consumerStats.length,
      durable: dispatch.durable,
      reason: dispatch.reason,
      redeliveryQueueMessages: dispatch.redeliveryQueueMessages,
      delayedMessages: dispatch.delayedMessages,
      oldestUnacked: dispatch.oldestUnacked,
      unackedMessages: dispatch.unackedMessages,
      msgRateOut: consumerRates.reduce((sum, r) => sum + r.msgRateOut, 0),
      msgThroughputOut: consumerRates.reduce((sum, r) => sum + r.msgThroughputOut, 0),
      msgRateRedeliver: consumerRates.reduce((sum, r) => sum + r.msgRateRedeliver, 0),
      consumerStats
    }
  }
  const durable = sm.subscriptions().map((cursor): SubscriptionStats => {
    backlogBytes += sm.backlogBytes(cursor.subscription)
    return subscriptionRow(cursor.subscription, { type: cursor.type, markDelete: cursor.markDelete, backlog: sm.backlog(cursor.subscription) })
  })
  const readers = replica.readers().map((name): SubscriptionStats => {
    const dispatch = replica.subscriptionStats(name)
    return subscriptionRow(name, { type: dispatch.type, markDelete: 0, backlog: dispatch.pendingMessages })
  })
  const subscriptions = [...durable, ...readers]
  return {
    topic: group,
    partitions: 0,
    messagesIn: stats.messagesIn,
    bytesIn: stats.bytesIn,
    subscriptions,
    msgRateIn: inRates.msgRate,
    msgThroughputIn: inRates.byteRate,
    msgRateOut: outRates.msgRate,
    msgThroughputOut: outRates.byteRate,
    messagesOut: rates.messagesOut,
    bytesOut: rates.bytesOut,
    retainedBytes: stats.retainedBytes,
    backlogBytes,
    publishers: rates.publishers()
  }
}

function sumStats (record: TopicRecord, parts: TopicStats[]): TopicStats {
  const total: TopicStats = {
    topic: record.name,
    partitions: record.partitions,
    messagesIn: 0,
    bytesIn: 0,
    subscriptions: [],
    msgRateIn: 0,
    msgThroughputIn: 0,
    msgRateOut: 0,
    msgThroughputOut: 0,
    messagesOut: 0,
    bytesOut: 0,
    retainedBytes: 0,
    backlogBytes: 0,
    publishers: [],
    perPartition: parts
  }
  const add = (a: number | undefined, b: number | undefined): number => (a ?? 0) + (b ?? 0)
  for (const part of parts) {
    total.messagesIn += part.messagesIn
    total.bytesIn += part.bytesIn
    total.msgRateIn = add(total.msgRateIn, part.msgRateIn)
    total.msgThroughputIn = add(total.msgThroughputIn, part.msgThroughputIn)
    total.msgRateOut = add(total.msgRateOut, part.msgRateOut)
    total.msgThroughputOut = add(total.msgThroughputOut, part.msgThroughputOut)
    total.messagesOut = add(total.messagesOut, part.messagesOut)
    total.bytesOut = add(total.bytesOut, part.bytesOut)
    total.retainedBytes = add(total.retainedBytes, part.retainedBytes)
    total.backlogBytes = add(total.backlogBytes, part.backlogBytes)
    for (const publisher of part.publishers ?? []) {
      const same = total.publishers?.find((p) => p.producerName === publisher.producerName)
      if (same === undefined) total.publishers?.push({ ...publisher })
      else { same.msgRateIn += publisher.msgRateIn; same.msgThroughputIn += publisher.msgThroughputIn }
    }
    for (const sub of part.subscriptions) {
      const same = total.subscriptions.find((s) => s.name === sub.name)
      if (same === undefined) {
        total.subscriptions.push({ ...sub, markDelete: 0, consumerStats: [...(sub.consumerStats ?? [])] })
        continue
      }
      same.backlog += sub.backlog
      same.consumers += sub.consumers
      same.unackedMessages = add(same.unackedMessages, sub.unackedMessages)
      same.msgRateOut = add(same.msgRateOut, sub.msgRateOut)
      same.msgThroughputOut = add(same.msgThroughputOut, sub.msgThroughputOut)
      same.msgRateRedeliver = add(same.msgRateRedeliver, sub.msgRateRedeliver)
      same.reason = same.reason ?? sub.reason
      same.redeliveryQueueMessages = add(same.redeliveryQueueMessages, sub.redeliveryQueueMessages)
      same.delayedMessages = add(same.delayedMessages, sub.delayedMessages)
      same.consumerStats = [...(same.consumerStats ?? []), ...(sub.consumerStats ?? [])]
    }
  }
  return total
}

/** Each partition's Raft state and cursors, from its leader. */
export async function topicInternalStats (context: GatewayContext, state: SessionState, body: Body<'topics-internal-stats'>): Promise<ClientReply> {
  const { name, record } = await requireTopic(context, body.topic)
  const groups = record.partitions === 0 || name.partitionIndex >= 0 ? [name.full] : groupsOfTopic(record)
  const partitions: ClientResult<'topics-internal-stats'>['partitions'] = []
  for (const group of groups) {
    const reply = await atLeader(context, state, group, {
      local: async (partition) => ok({ topic: group, partitions: [localInternalStats(partition)] }),
      remote: async (node) => await forward(context, node, { type: 'topics-internal-stats', topic: group })
    })
    if (!reply.ok) return reply
    partitions.push(...(reply.result as ClientResult<'topics-internal-stats'>).partitions)
  }
  return ok({ topic: record.name, partitions })
}

function localInternalStats ({ group, raft, sm }: HostedPartition): ClientResult<'topics-internal-stats'>['partitions'][number] {
  const status = raft.status()
  const stats = sm.stats()
  return {
    group,
    leader: status.leader,
    term: status.term,
    commitIndex: status.commitIndex,
    appliedIndex: status.appliedIndex,
    lastIndex: status.lastIndex,
    firstRetainedIndex: sm.firstRetainedIndex,
    retainedMessages: stats.retainedMessages,
    retainedBytes: stats.retainedBytes,
    voters: [...status.config.voters],
    learners: [...status.config.learners],
    configIndex: status.configIndex,
    replicas: [...status.config.voters, ...status.config.learners].map((node) => {
      const matchIndex = node === status.id ? status.lastIndex : raft.matchIndex(node)
      return { node, matchIndex, lag: matchIndex === null ? null : Math.max(0, status.lastIndex - matchIndex) }
    }),
    subscriptions: sm.subscriptions().map((cursor) => ({
      name: cursor.subscription, markDelete: cursor.markDelete, ackedRanges: cursor.ackedRanges.length, generation: cursor.generation
    }))
  }
}

/** The last committed message of one partition (or non-partitioned topic), null when it holds none. */
export async function lastMessageId (context: GatewayContext, state: SessionState, body: Body<'topics-last-message-id'>): Promise<ClientReply> {
  const { name, record } = await requireTopic(context, body.topic)
  if (record.partitions > 0 && name.partitionIndex < 0) {
    throw new UnsupportedOperationError({ operation: 'last message id', reason: `${record.name} is partitioned: ask one of its partitions` })
  }
  return await atLeader(context, state, name.full, {
    local: async ({ sm }) => {
      const last = sm.lastBatch
      return ok({ messageId: last === null ? null : { partition: sm.partition, index: last.index, batchIndex: last.messageCount - 1 } })
    },
    remote: async (node) => await forward(context, node, { type: 'topics-last-message-id', topic: name.full })
  })
}

async function requireTopic (context: GatewayContext, topic: string): Promise<{ name: TopicName, record: TopicRecord }> {
  const name = parseTopicName(topic)
  const record = await findTopic(context, name)
  if (record === undefined) throw new UnknownTopicError({ topic: name.full })
  return { name, record }
}
