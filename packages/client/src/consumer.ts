// The Consumer the application holds: one PartitionConsumer per partition of each of its
// topics (one topic, a list, or those a pattern discovers), all feeding one receiver queue.
// It owns what happens between the queue and the application: acks grouped per partition
// (ack-grouping.ts), negative acks with their delay or backoff (negative-acks.ts), the ack
// timeout (ack-timeout.ts), redelivery counts and dead-letter / retry topics (dead-letter.ts),
// seek, and for a reader the resume point and its cumulative acks.
import {
  ConsumerClosedError, InvalidArgumentError, LimitExceededError, MessageId, UnsupportedOperationError, parseTopicName, type CursorPosition
} from '@blazar/protocol'
import { AckGroupingTracker, type AckType } from './ack-grouping.ts'
import type { AckTimeoutTracker } from './ack-timeout.ts'
import type { DeadLetters } from './dead-letter.ts'
import { TopicMessageId, type Message } from './message.ts'
import type { NegativeAcks } from './negative-acks.ts'
import { MAX_TOPICS_PER_CONSUMER } from './options.ts'
import type { PartitionConsumer } from './partition-consumer.ts'
import type { ReceiverQueue } from './receiver-queue.ts'
import { RedeliveryCounts } from './redelivery-counts.ts'
import type { StartPoint } from './start-point.ts'
import type { Timers } from './timers.ts'

export type MessageOrId = Message | MessageId

export interface ConsumerDeps {
  /** Subscribes to every partition of `topic` (feeding the consumer's queue); rejects when any fails. */
  attachTopic: (topic: string, start: StartPoint | undefined) => Promise<PartitionConsumer[]>
  /** The client stops routing pushes to these (closed) partition consumers. */
  forget: (members: readonly PartitionConsumer[]) => void
  onClose: () => void
}

export interface ConsumerBehaviour {
  acknowledgementsGroupTimeMs: number
  nacks: (redeliver: (ids: MessageId[]) => void) => NegativeAcks
  ackTimeout: ((redeliver: (ids: MessageId[]) => void) => AckTimeoutTracker) | undefined
  deadLetters: DeadLetters | undefined
  retryEnable: boolean
  /** A reader: each message read moves the resume point and is acknowledged cumulatively. */
  reader: boolean
}

export class Consumer {
  private readonly topicName: string
  private readonly subscriptionName: string
  private readonly queue: ReceiverQueue
  private readonly deps: ConsumerDeps
  private readonly behaviour: ConsumerBehaviour
  private readonly timers: Timers
  /** Partition consumers by base topic (full name). */
  private readonly topicMembers = new Map<string, readonly PartitionConsumer[]>()
  /** Partition consumers by the topic name their messages carry (a `-partition-N` name for a partition). */
  private readonly byTopic = new Map<string, PartitionConsumer>()
  private readonly ackGroups = new Map<PartitionConsumer, AckGroupingTracker>()
  private readonly nacks: NegativeAcks
  private readonly ackTimeout: AckTimeoutTracker | undefined
  private readonly counts = new RedeliveryCounts()
  private stopDiscovery: (() => void) | undefined
  private closing: Promise<void> | undefined
  /** Whether dead letters go through the broker (its exactly-once outbox): until a node answers UNSUPPORTED_OPERATION. */
  private brokerDeadLetters = true

  constructor (options: {
    topic: string, subscription: string, queue: ReceiverQueue, deps: ConsumerDeps, behaviour: ConsumerBehaviour, timers: Timers
  }) {
    this.topicName = options.topic
    this.subscriptionName = options.subscription
    this.queue = options.queue
    this.deps = options.deps
    this.behaviour = options.behaviour
    this.timers = options.timers
    this.nacks = options.behaviour.nacks((ids) => { this.redeliver(ids) })
    this.ackTimeout = options.behaviour.ackTimeout?.((ids) => { this.redeliver(ids) })
  }

  /** The first topic (the pattern, for a pattern consumer). */
  getTopic (): string {
    return this.topicName
  }

  /** The base topics subscribed now, sorted. */
  getTopics (): string[] {
    return [...this.topicMembers.keys()].sort()
  }

  getSubscription (): string {
    return this.subscriptionName
  }

  isConnected (): boolean {
    return this.closing === undefined && [...this.byTopic.values()].every((partition) => partition.connected)
  }

  /** Messages received from the node and not yet taken by receive(). */
  get queuedMessages (): number {
    return this.queue.size
  }

  /** Subscribes to one more topic (all its partitions). */
  async addTopic (topic: string, start?: StartPoint): Promise<void> {
    if (this.closing !== undefined) throw this.closedError()
    const base = parseTopicName(topic).full
    if (this.topicMembers.has(base)) return
    if (this.topicMembers.size >= MAX_TOPICS_PER_CONSUMER) throw new LimitExceededError({ limit: 'topics per consumer', value: this.topicMembers.size + 1, max: MAX_TOPICS_PER_CONSUMER })
    const members = await this.deps.attachTopic(base, start)
    if (this.closing !== undefined || this.topicMembers.has(base)) {
      await Promise.allSettled(members.map((member) => member.close('close-consumer')))
      this.deps.forget(members)
      return
    }
    this.topicMembers.set(base, members)
    for (const member of members) {
      this.byTopic.set(member.topic, member)
      this.ackGroups.set(member, new AckGroupingTracker({
        groupTimeMs: this.behaviour.acknowledgementsGroupTimeMs, timers: this.timers,
        send: async (ids, ackType) => { await member.acknowledge(ids, ackType) },
        attached: () => member.connected
      }))
    }
  }

  /** Drops a topic (deleted, or no longer matching the pattern): its partition consumers close. */
  async removeTopic (topic: string): Promise<void> {
    const base = parseTopicName(topic).full
    const members = this.topicMembers.get(base)
    if (members === undefined) return
    this.topicMembers.delete(base)
    for (const member of members) {
      this.byTopic.delete(member.topic)
      this.ackGroups.get(member)?.clear()
      this.ackGroups.delete(member)
      this.ackTimeout?.clear(member.topic)
    }
    for (const member of members) this.queue.removeOwner(member)
    await Promise.allSettled(members.map((member) => member.close('close-consumer')))
    this.deps.forget(members)
  }

  /** The pattern discovery to stop on close. */
  discoveredBy (stop: () => void): void {
    this.stopDiscovery = stop
  }

  /**
   * The next message; with `timeoutMs`, rejects with TimeoutError when none arrives in time.
   * A redelivered message whose ack waits in a group is skipped (Pulsar's isDuplicate).
   */
  async receive (timeoutMs?: number): Promise<Message> {
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      throw new InvalidArgumentError({ argument: 'timeoutMs', reason: 'must be a non-negative number' })
    }
    const deadline = timeoutMs === undefined ? undefined : this.timers.now() + timeoutMs
    for (;;) {
      const message = await this.queue.receive(deadline === undefined ? undefined : Math.max(0, deadline - this.timers.now()))
      if (!this.ackPending(message.messageId)) return this.received(message)
    }
  }

  /**
   * Acknowledges one message. The ack waits in its partition's group (up to
   * acknowledgementsGroupTimeMs); flush() sends it now. While the consumer re-subscribes the
   * ack is dropped: the node redelivers.
   */
  async acknowledge (message: MessageOrId): Promise<void> {
    const id = this.idOf(message)
    const member = this.partitionOf(id)
    this.settled(id)
    await this.ack(member, id, 'Individual')
  }

  /** Acknowledges every message of the message's partition up to and including it. */
  async acknowledgeCumulative (message: MessageOrId): Promise<void> {
    const id = this.idOf(message)
    const member = this.partitionOf(id)
    this.ackTimeout?.removeUpTo(id)
    this.counts.forget(id)
    this.behaviour.deadLetters?.release(id)
    await this.ack(member, id, 'Cumulative')
  }

  /** Asks for the message again after negativeAckRedeliveryDelayMs (or the backoff of its redelivery count). */
  negativeAcknowledge (message: MessageOrId): void {
    const id = this.idOf(message)
    this.partitionOf(id)
    this.ackTimeout?.remove(id)
    const redeliveryCount = message instanceof MessageId ? this.counts.effective(id, 0) : message.redeliveryCount
    this.nacks.add(id, redeliveryCount)
  }

  /**
   * Pulsar's reconsumeLater (needs `retryEnable`): publishes a copy to the retry topic to be
   * delivered after `delayMs` (to the dead-letter topic once RECONSUMETIMES passes
   * maxRedeliverCount), then acknowledges the message. Delayed delivery is the broker's part.
   */
  async reconsumeLater (message: Message, delayMs: number): Promise<void> {
    const deadLetters = this.behaviour.deadLetters
    if (!this.behaviour.retryEnable || deadLetters === undefined) throw new InvalidArgumentError({ argument: 'retryEnable', reason: 'reconsumeLater needs a consumer subscribed with retryEnable: true' })
    if (!Number.isSafeInteger(delayMs) || delayMs < 0) throw new InvalidArgumentError({ argument: 'delayMs', reason: 'must be a non-negative integer (ms)' })
    const member = this.partitionOf(message.messageId)
    await deadLetters.reconsumeLater(message, delayMs)
    this.settled(message.messageId)
    await this.ack(member, message.messageId, 'Individual')
  }

  /**
   * Redelivers `ids` now (nack and ack-timeout timers), grouped by partition; a message
   * received after maxRedeliverCount redeliveries goes to the dead-letter topic instead.
   */
  redeliver (ids: readonly MessageId[]): void {
    const byPartition = new Map<PartitionConsumer, MessageId[]>()
    for (const id of ids) {
      const partition = this.memberOf(id)
      if (partition === undefined) continue // its topic was dropped meanwhile
      this.counts.increment(id)
      const deadLetter = this.behaviour.deadLetters?.take(id)
      if (deadLetter !== undefined) {
        this.sendToDeadLetterTopic(partition, deadLetter)
        continue
      }
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), id])
    }
    for (const [partition, partitionIds] of byPartition) partition.redeliver(partitionIds)
  }

  /**
   * Moves the subscription: to a message (its partition only; the message is delivered next),
   * to MessageId.earliest() / latest(), or to a publish time (ms, every partition). Pending
   * acks are sent first; queued messages, waiting nacks and ack timeouts are dropped.
   */
  async seek (target: MessageId | number): Promise<void> {
    if (this.closing !== undefined) throw this.closedError()
    await this.flush()
    this.nacks.clear()
    this.ackTimeout?.clear()
    this.behaviour.deadLetters?.clear()
    if (typeof target === 'number') {
      if (!Number.isSafeInteger(target) || target < 0) throw new InvalidArgumentError({ argument: 'timestamp', reason: 'must be a non-negative integer (ms)' })
      await this.seekAll({ at: 'publishTime', publishTime: target })
      return
    }
    if (!(target instanceof MessageId)) throw new InvalidArgumentError({ argument: 'target', reason: 'expected a MessageId or a timestamp' })
    if (target.equals(MessageId.earliest(target.partition))) { await this.seekAll({ at: 'earliest' }); return }
    if (target.equals(MessageId.latest(target.partition))) { await this.seekAll({ at: 'latest' }); return }
    await this.partitionOf(target).seek({ at: 'message', index: target.index, batchIndex: target.batchIndex }, { id: target, inclusive: true })
  }

  /** Sends every grouped ack now; resolves once the node answered them. */
  async flush (): Promise<void> {
    await Promise.all([...this.ackGroups.values()].map((group) => group.flush()))
  }

  /** Sends pending acks, detaches from the node; pending and later receive() calls reject with ConsumerClosedError. */
  close (): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  /** Deletes the subscription on every partition, then closes. A failure leaves the consumer open. */
  async unsubscribe (): Promise<void> {
    if (this.closing !== undefined) throw this.closedError()
    await this.flush().catch(() => {})
    await Promise.all([...this.byTopic.values()].map((partition) => partition.close('unsubscribe')))
    await this.close()
  }

  private async shutDown (): Promise<void> {
    this.stopDiscovery?.()
    const members = [...this.byTopic.values()]
    try {
      await this.flush().catch(() => {})
      await Promise.all(members.map((partition) => partition.close('close-consumer')))
    } finally {
      this.nacks.clear()
      this.ackTimeout?.clear()
      await this.behaviour.deadLetters?.close()
      this.queue.close(this.closedError())
      this.deps.forget(members)
      this.deps.onClose()
    }
  }

  /** Bookkeeping as a message is handed to the application. */
  private received (message: Message): Message {
    const id = message.messageId
    const redeliveryCount = this.counts.effective(id, message.redeliveryCount)
    const delivered = redeliveryCount === message.redeliveryCount ? message : { ...message, redeliveryCount }
    const member = this.memberOf(id)
    if (this.behaviour.reader && member !== undefined) {
      member.resumeAfter(id)
      this.ackGroups.get(member)?.add(id, 'Cumulative').catch(() => {})
      return delivered
    }
    this.ackTimeout?.add(id)
    const deadLetters = this.behaviour.deadLetters
    if (deadLetters?.exhausted(redeliveryCount) === true) deadLetters.hold(delivered)
    return delivered
  }

  /** The message is done with (acknowledged, or moved to another topic): forget its tracking. */
  private settled (id: MessageId): void {
    this.ackTimeout?.remove(id)
    this.nacks.remove(id)
    this.counts.forget(id)
    this.behaviour.deadLetters?.release(id)
  }

  private ackPending (id: MessageId): boolean {
    const member = this.memberOf(id)
    return member !== undefined && this.ackGroups.get(member)?.has(id) === true
  }

  private async ack (member: PartitionConsumer, id: MessageId, ackType: AckType): Promise<void> {
    const group = this.ackGroups.get(member)
    if (group === undefined) throw this.closedError()
    await group.add(id, ackType)
  }

  /**
   * Dead-letters `message`: through the broker when it supports it (one replicated entry
   * acknowledges the message and queues it, and the partition leader forwards it to the
   * dead-letter topic exactly once), else as Pulsar's clients do, publishing to the
   * dead-letter topic and then acknowledging (at-least-once: a lost acknowledgement publishes
   * it again). A policy with initialSubscriptionName takes the client path (it creates that
   * subscription first). If either fails the message is redelivered instead.
   */
  private sendToDeadLetterTopic (member: PartitionConsumer, message: Message): void {
    const deadLetters = this.behaviour.deadLetters
    if (deadLetters === undefined) return
    if (this.brokerDeadLetters && deadLetters.policy.initialSubscriptionName === undefined) {
      member.deadLetter([message.messageId], deadLetters.policy.deadLetterTopic).then(() => {
        this.settled(message.messageId)
      }, (error: unknown) => {
        if (error instanceof UnsupportedOperationError) {
          this.brokerDeadLetters = false
          this.sendToDeadLetterTopic(member, message)
          return
        }
        member.redeliver([message.messageId])
      })
      return
    }
    deadLetters.deadLetter(message).then(async () => {
      this.settled(message.messageId)
      await this.ack(member, message.messageId, 'Individual')
    }, () => {
      member.redeliver([message.messageId])
    }).catch(() => {})
  }

  /** GET_LAST_MESSAGE_ID of every partition this consumer reads, by partition topic. */
  async lastMessageIds (): Promise<Array<{ topic: string, lastMessageId: MessageId, markDeletePosition: MessageId }>> {
    if (this.closing !== undefined) throw this.closedError()
    return await Promise.all([...this.byTopic.values()].map(async (member) => ({ topic: member.topic, ...await member.lastMessageId() })))
  }

  private async seekAll (position: CursorPosition): Promise<void> {
    await Promise.all([...this.byTopic.values()].map((member) => member.seek(position, undefined)))
  }

  private idOf (message: MessageOrId): MessageId {
    const id = message instanceof MessageId ? message : message?.messageId
    if (!(id instanceof MessageId)) throw new InvalidArgumentError({ argument: 'message', reason: 'expected a Message or a MessageId' })
    return id
  }

  private partitionOf (id: MessageId): PartitionConsumer {
    if (this.closing !== undefined) throw this.closedError()
    const member = this.memberOf(id)
    if (member === undefined) {
      const where = id instanceof TopicMessageId ? id.topic : `partition ${id.partition} of ${this.getTopics().join(', ')}`
      throw new InvalidArgumentError({ argument: 'messageId', reason: `this consumer does not read ${where}` })
    }
    return member
  }

  /** The partition consumer a message ID belongs to: by its topic, or by partition when the consumer has one topic. */
  private memberOf (id: MessageId): PartitionConsumer | undefined {
    if (id instanceof TopicMessageId) return this.byTopic.get(id.topic)
    if (this.topicMembers.size !== 1) return undefined
    const members = this.topicMembers.values().next().value as readonly PartitionConsumer[]
    return members.length === 1 ? members[0] : members.find((candidate) => candidate.partition === id.partition)
  }

  private closedError (): Error {
    return new ConsumerClosedError({ topic: this.topicName, subscription: this.subscriptionName })
  }
}
