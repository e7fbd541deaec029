// `blazar topics stats` as text: each subscription's backlog and consumers, and whenever
// dispatch is not progressing, the reason in plain words (the JSON form carries the codes).
import type { TopicStats } from '@blazar/client'
import type { DispatchBlockReason } from '@blazar/protocol'

type SubscriptionStats = TopicStats['subscriptions'][number]
type ConsumerStats = NonNullable<SubscriptionStats['consumerStats']>[number]

const REASON_WORDS: Record<DispatchBlockReason, string> = {
  NO_PERMITS: 'the consumer has no flow permits left (its receiver queue is full: the application is not taking messages)',
  UNACKED_LIMIT: 'too many messages are delivered but not acknowledged (maxUnackedMessagesPerConsumer / PerSubscription)',
  KEY_BLOCKED_BY_UNACKED: 'its keys wait until another consumer acknowledges earlier messages of the same keys (Key_Shared ordering)',
  ALL_DELAYED: 'every message left is delayed and not due yet',
  LEADER_MOVING: 'the partition\'s leadership is moving; consumers reconnect to the new leader',
  NO_CONSUMERS: 'no consumer is connected'
}

export function reasonInWords (reason: DispatchBlockReason): string {
  return REASON_WORDS[reason]
}

function consumerLine (consumer: ConsumerStats): string {
  const parts = [`permits ${consumer.permits}`, `${consumer.unackedMessages} unacked`]
  if (consumer.active !== undefined) parts.push(consumer.active ? 'active' : 'standby')
  if (consumer.blockedKeyHashCount > 0) parts.push(`${consumer.blockedKeyHashCount} blocked key hash(es): ${consumer.blockedKeyHashes.join(', ')}${consumer.blockedKeyHashCount > consumer.blockedKeyHashes.length ? ', ...' : ''}`)
  if (consumer.oldestUnacked !== null) parts.push(`oldest unacked ${consumer.oldestUnacked.messageId.index}:${consumer.oldestUnacked.messageId.partition}:${consumer.oldestUnacked.messageId.batchIndex}, out for ${consumer.oldestUnacked.ageMs} ms`)
  const line = `    consumer ${consumer.consumerName}: ${parts.join(', ')}`
  return consumer.reason === null ? line : `${line}\n      not receiving: ${reasonInWords(consumer.reason)}`
}

export function topicStatsLines (stats: TopicStats): string[] {
  const lines = [`${stats.topic}: ${stats.partitions} partition(s), ${stats.messagesIn} messages in, ${stats.bytesIn} bytes in`]
  for (const sub of stats.subscriptions) {
    const extra = [
      sub.durable === false ? 'reader' : undefined,
      (sub.redeliveryQueueMessages ?? 0) > 0 ? `${sub.redeliveryQueueMessages} waiting for redelivery` : undefined,
      (sub.delayedMessages ?? 0) > 0 ? `${sub.delayedMessages} delayed` : undefined
    ].filter((part) => part !== undefined)
    lines.push(`  subscription ${sub.name} (${sub.type}): backlog ${sub.backlog}, mark-delete ${sub.markDelete}, ${sub.consumers} consumer(s)${extra.length > 0 ? `, ${extra.join(', ')}` : ''}`)
    if (sub.reason !== undefined && sub.reason !== null) lines.push(`    dispatch is not progressing: ${reasonInWords(sub.reason)}`)
    for (const consumer of sub.consumerStats ?? []) lines.push(consumerLine(consumer))
  }
  return lines
}
