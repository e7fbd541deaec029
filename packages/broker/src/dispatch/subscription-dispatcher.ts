// The one consumer-dispatch mechanism of a subscription on the partition leader (DESIGN.md §6),
// for every subscription type: the lifecycle (the xstate machine in subscription-lifecycle.ts),
// the consumers' flow permits and unacknowledged batches, one read loop over committed batches
// (cache, then the Raft log), the replay queue (negatively acknowledged batches, those of a
// consumer that left, batches parked until their consumer can take them), redelivery counts,
// batch-index acks, delayed delivery (DelayedIndex), the cursor, proposed through Raft in
// batches (CursorTracker) so a new leader resumes from the replicated cursor, and the stats
// that say why dispatch is not progressing. Which consumer takes a batch and which batches
// keep their order is the policy's (dispatch-policy.ts); nothing else differs between types.
// Delivery is at-least-once; a batch is outstanding at one consumer at a time (asserted).
import { timerApi, type Env } from '@blazar/env'
import {
  ConsumerBusyError, MAX_BLOCKED_KEY_HASHES_IN_STATS, UnsupportedOperationError,
  type DeliveredEntry, type DispatchBlockReason, type MessageIdData, type SubscriptionType
} from '@blazar/protocol'
import { createActor, type Actor } from 'xstate'
import type { StoredBatch } from '../partition/message-cache.ts'
import type { CursorState } from '../partition/subscription-cursor.ts'
import { assert } from '../state-machine.ts'
import { CursorTracker } from './cursor-tracker.ts'
import { DelayedIndex } from './delayed-index.ts'
import { DEFAULT_DISPATCH_LIMITS, deliveredEntry, type DispatchLimits, type DispatchSource, type DispatcherOptions } from './dispatch-options.ts'
import type { DispatchConsumer, DispatchPolicy, OrderKey, PolicyContext } from './dispatch-policy.ts'
import { ReadLoop } from './read-loop.ts'
import { RedeliveryCounts } from './redelivery-counts.ts'
import { ReplayQueue } from './replay-queue.ts'
import { subscriptionLifecycle, type ConsumerRef, type SubscriptionLifecycleState } from './subscription-lifecycle.ts'
import { UnackedEntries } from './unacked-entries.ts'

export interface ConsumerDispatchStats {
  consumerId: number
  consumerName: string
  permits: number
  unackedMessages: number
  /** Pulsar's blockedConsumerOnUnackedMsgs: dispatch to it stopped at its (or the subscription's) unacked bound, whatever its permits. */
  blockedConsumerOnUnackedMsgs: boolean
  /** Key_Shared: hashes this consumer owns whose batches wait for another consumer's acks (at most MAX_BLOCKED_KEY_HASHES_IN_STATS). */
  blockedKeyHashes: number[]
  blockedKeyHashCount: number
  /** Exclusive/Failover: whether this consumer receives now. */
  active?: boolean
  reason: DispatchBlockReason | null
  oldestUnacked: { messageId: MessageIdData, ageMs: number } | null
}

export interface DispatchStats {
  type: SubscriptionType
  reason: DispatchBlockReason | null
  /** Messages not yet delivered (waiting for redelivery, or not read yet), delayed ones not due excluded. */
  pendingMessages: number
  redeliveryQueueMessages: number
  delayedMessages: number
  /** The earliest deliverAtTime waiting in the delayed index (leader clock), null when none waits. */
  nextDelayedDeliveryAt: number | null
  unackedMessages: number
  deliveredBatches: number
  oldestUnacked: { messageId: MessageIdData, ageMs: number } | null
  consumers: ConsumerDispatchStats[]
}

export class SubscriptionDispatcher<P extends DispatchPolicy = DispatchPolicy> {
  readonly topic: string
  readonly subscription: string
  readonly policy: P
  private readonly env: Env
  private readonly partition: number
  private readonly source: DispatchSource
  private readonly deliver: DispatcherOptions['deliver']
  private readonly limits: DispatchLimits
  private readonly actor: Actor<typeof subscriptionLifecycle>
  private readonly unsubscribeCommits: () => void
  private readonly tracker: CursorTracker
  private readonly reads: ReadLoop
  private readonly redeliveries = new RedeliveryCounts()
  /** In attach order. */
  private readonly consumerStates = new Map<number, DispatchConsumer>()
  private readonly replay = new ReplayQueue()
  private readonly delayed: DelayedIndex
  /** Batches delivered (first deliveries and redeliveries), for stats and the simulator's liveness check. */
  private delivered = 0
  /** Next index to read new batches from; every message entry below it was delivered, is waiting, or is acknowledged. */
  private readPosition: number
  /** Set when the subscription reaches its unacked bound; cleared at half of it. */
  private blocked = false

  constructor (options: DispatcherOptions, makePolicy: (context: PolicyContext, limits: DispatchLimits) => P) {
    this.env = options.env
    this.topic = options.topic
    this.partition = options.partition
    this.subscription = options.cursor.subscription
    this.source = options.source
    this.deliver = options.deliver
    this.limits = { ...DEFAULT_DISPATCH_LIMITS, ...options.limits }
    this.policy = makePolicy({ canTake: (consumer) => this.canTake(consumer), wake: () => this.pump() }, this.limits)
    this.tracker = new CursorTracker({
      env: this.env,
      topic: this.topic,
      cursor: options.cursor,
      nextMessageIndex: (index) => this.source.nextMessageIndex(index),
      proposeCursor: options.proposeCursor,
      flushIntervalMs: this.limits.cursorFlushIntervalMs,
      flushMaxAcks: this.limits.cursorFlushMaxAcks
    })
    this.reads = new ReadLoop({
      env: this.env,
      source: this.source,
      limits: this.limits,
      topic: this.topic,
      subscription: this.subscription,
      onBatches: (batches, replaying) => this.dispatch(batches, replaying),
      wake: () => this.pump()
    })
    this.delayed = new DelayedIndex(this.env, (due) => {
      for (const batch of due) this.replay.add(batch.index, { key: batch.key, messageCount: batch.messageCount })
      this.pump()
    })
    this.readPosition = this.tracker.markDelete + 1
    const machine = subscriptionLifecycle.provide({
      actions: {
        consumerAttached: ({ event }) => {
          if (event.type === 'ATTACH') this.consumerStates.set(event.consumer.consumerId, { ref: event.consumer, permits: 0, unacked: new UnackedEntries() })
        },
        consumerLost: ({ event }) => {
          if (event.type === 'DETACH') this.dropConsumer(event.consumerId)
        },
        allConsumersLost: () => {
          for (const consumerId of [...this.consumerStates.keys()]) this.dropConsumer(consumerId)
        },
        stopped: () => this.stop()
      }
    })
    this.actor = createActor(machine, { input: { subscriptionType: this.policy.type }, clock: timerApi(this.env.clock) })
    this.actor.subscribe({ error: (error) => this.env.logger.error('subscription lifecycle failed', { topic: this.topic, subscription: this.subscription, error: String(error) }) })
    this.actor.start()
    this.unsubscribeCommits = this.source.onCommit(() => { this.pump() })
  }

  get type (): SubscriptionType {
    return this.policy.type
  }

  get state (): SubscriptionLifecycleState {
    return this.actor.getSnapshot().value as SubscriptionLifecycleState
  }

  get consumers (): readonly ConsumerRef[] {
    return this.actor.getSnapshot().context.consumers
  }

  /** Delivered and unacknowledged messages of the whole subscription. */
  get unackedMessages (): number {
    let total = 0
    for (const consumer of this.consumerStates.values()) total += consumer.unacked.messageCount
    return total
  }

  /** Permits of a consumer (undefined when it is not attached). */
  permitsOf (consumerId: number): number | undefined {
    return this.consumerStates.get(consumerId)?.permits
  }

  /** Mark-delete as this dispatcher knows it (acknowledgements not yet proposed included). */
  get markDelete (): number {
    return this.tracker.markDelete
  }

  /** Connects a consumer; one the lifecycle does not admit (a second on Exclusive) gets ConsumerBusyError. */
  attach (consumer: ConsumerRef): void {
    const event = { type: 'ATTACH' as const, consumer }
    if (!this.actor.getSnapshot().can(event)) throw new ConsumerBusyError({ topic: this.topic, subscription: this.subscription })
    this.actor.send(event)
    this.consumersChanged()
  }

  /** A consumer closed or its connection dropped: what it held unacknowledged will be redelivered. */
  detach (consumerId: number): void {
    this.actor.send({ type: 'DETACH', consumerId })
    this.consumersChanged()
  }

  /** Subscription deleted or leadership lost: stop for good. */
  close (reason: string): void {
    this.actor.send({ type: 'CLOSE', reason })
    this.consumersChanged()
  }

  /** FLOW: the consumer can take `permits` more messages. */
  flow (consumerId: number, permits: number): void {
    const consumer = this.consumerStates.get(consumerId)
    if (consumer === undefined || this.state !== 'consuming') return
    consumer.permits += permits
    this.pump()
  }

  /** Individual acks: each message (batch-index acks), a batch once all its messages are; from whichever consumer holds it. */
  acknowledge (consumerId: number, ids: readonly MessageIdData[]): void {
    const acker = this.consumerStates.get(consumerId)
    if (acker === undefined || !this.policy.mayAcknowledge(acker)) return
    for (const id of ids) {
      if (id.partition !== this.partition) continue
      const holder = this.holderOf(id.index, acker)
      if (holder === undefined) continue
      const acked = holder.unacked.ackMessage(id.index, id.batchIndex)
      if (acked === 'partial') this.tracker.ackBatchIndexes(id.index, [id.batchIndex])
      if (acked !== 'complete') continue
      this.policy.released(id.index)
      this.redeliveries.forget(id.index)
      this.tracker.ackEntry(id.index)
    }
    this.acknowledged()
  }

  /** Cumulative ack (Exclusive, Failover): everything up to and including `id`, never beyond what was delivered. */
  acknowledgeCumulative (consumerId: number, id: MessageIdData): void {
    if (!this.policy.cumulativeAcks) {
      throw new UnsupportedOperationError({ operation: 'cumulative acknowledgement', reason: `not allowed on ${this.policy.type} subscriptions` })
    }
    const consumer = this.consumerStates.get(consumerId)
    if (consumer === undefined || !this.policy.mayAcknowledge(consumer) || id.partition !== this.partition) return
    const complete = consumer.unacked.ackUpTo(id.index, id.batchIndex)
    const upTo = Math.min(complete ? id.index : id.index - 1, this.readPosition - 1)
    for (const index of consumer.unacked.indexes()) {
      if (index > upTo) continue
      consumer.unacked.remove(index)
      this.policy.released(index)
    }
    for (const index of [...this.replay.indexes()]) if (index <= upTo) this.replay.remove(index)
    this.tracker.ackUpTo(upTo)
    if (complete) {
      this.policy.released(id.index)
      this.tracker.ackEntry(id.index)
    } else if (upTo === id.index - 1) {
      this.tracker.ackBatchIndexes(id.index, consumer.unacked.ackedIndexesOf(id.index))
    }
    this.acknowledged()
  }

  /**
   * REDELIVER / negative ack: the given messages' batches (or everything the consumer holds)
   * are delivered again; on Exclusive and Failover everything unacknowledged, keeping order.
   */
  redeliverUnacknowledged (consumerId: number, ids?: readonly MessageIdData[]): void {
    const consumer = this.consumerStates.get(consumerId)
    if (consumer === undefined || !this.policy.mayAcknowledge(consumer)) return
    if (this.policy.redeliversAll) this.requeueAll()
    else {
      const indexes = ids === undefined ? consumer.unacked.indexes() : [...new Set(ids.map((id) => id.index))].filter((index) => consumer.unacked.has(index))
      for (const index of indexes) this.requeue(consumer, index)
    }
    this.pump()
  }

  /** After a `reset` subscription entry was applied (or a reader's seek): continue from the reset cursor. */
  cursorReset (cursor: CursorState): void {
    this.tracker.reset(cursor)
    for (const consumer of this.consumerStates.values()) {
      for (const index of consumer.unacked.takeAll()) this.policy.released(index)
    }
    this.replay.clear()
    this.delayed.clear()
    this.blocked = false
    this.readPosition = this.tracker.markDelete + 1
    this.reads.cancel()
    this.pump()
  }

  /**
   * The broker acknowledged everything up to `upTo` (message TTL, backlog eviction, expiry:
   * a replicated mark-delete move): those batches are no longer delivered, waiting or counted
   * unacknowledged; a consumer's later ack of one is ignored.
   */
  acknowledgeUpTo (upTo: number): void {
    for (const consumer of this.consumerStates.values()) {
      for (const index of consumer.unacked.indexes()) {
        if (index > upTo) continue
        consumer.unacked.remove(index)
        this.policy.released(index)
        this.redeliveries.forget(index)
      }
    }
    for (const index of [...this.replay.indexes()]) if (index <= upTo) this.replay.remove(index)
    this.tracker.ackUpTo(upTo)
    this.readPosition = Math.max(this.readPosition, upTo + 1)
    this.acknowledged()
  }

  /** Proposes the cursor now if it changed since the last proposal. */
  flush (): Promise<void> {
    return this.tracker.flush()
  }

  /** Whether the delayed index is at its bound (the leader then refuses new delayed messages). */
  get delayedIndexFull (): boolean {
    return this.delayed.size >= this.limits.maxDelayedMessages
  }

  /** What the subscription's dispatch is doing, and why it is not progressing when it is not. */
  stats (): DispatchStats {
    const now = this.env.clock.now()
    const pendingMessages = this.replay.messageCount + this.source.messagesAfter(this.readPosition - 1)
    const reason = this.subscriptionReason(pendingMessages)
    const consumers = [...this.consumerStates.values()].map((consumer): ConsumerDispatchStats => {
      const blocked = this.policy.blockedKeyHashes(consumer)
      const oldest = consumer.unacked.oldest()
      return {
        consumerId: consumer.ref.consumerId,
        consumerName: consumer.ref.consumerName,
        permits: consumer.permits,
        unackedMessages: consumer.unacked.messageCount,
        blockedConsumerOnUnackedMsgs: this.blocked || consumer.unacked.messageCount >= this.limits.maxUnackedMessagesPerConsumer,
        blockedKeyHashes: blocked.slice(0, MAX_BLOCKED_KEY_HASHES_IN_STATS),
        blockedKeyHashCount: blocked.length,
        ...(this.policy.active === null && this.policy.cumulativeAcks ? { active: false } : {}),
        ...(this.policy.active !== null ? { active: this.policy.active.consumerId === consumer.ref.consumerId } : {}),
        reason: this.consumerReason(consumer, reason, blocked.length),
        oldestUnacked: oldest === undefined ? null : { messageId: { partition: this.partition, index: oldest.index, batchIndex: 0 }, ageMs: now - oldest.deliveredAt }
      }
    })
    const oldest = consumers.map((c) => c.oldestUnacked).filter((o) => o !== null).sort((a, b) => b.ageMs - a.ageMs || a.messageId.index - b.messageId.index)[0] ?? null
    return {
      type: this.policy.type,
      reason,
      pendingMessages,
      redeliveryQueueMessages: this.replay.messageCount,
      delayedMessages: this.delayed.size,
      nextDelayedDeliveryAt: this.delayed.nextDeliverAt ?? null,
      unackedMessages: this.unackedMessages,
      deliveredBatches: this.delivered,
      oldestUnacked: oldest,
      consumers
    }
  }

  // ---- internals -----------------------------------------------------------------------

  private canTake (consumer: DispatchConsumer): boolean {
    return consumer.permits > 0 && consumer.unacked.messageCount < this.limits.maxUnackedMessagesPerConsumer
  }

  private consumersChanged (): void {
    const consumers = this.state === 'consuming' ? [...this.consumerStates.values()] : []
    if (this.policy.consumersChanged(consumers)) this.requeueAll()
    this.pump()
  }

  private acknowledged (): void {
    this.tracker.changed()
    if (this.blocked && this.unackedMessages <= this.limits.maxUnackedMessagesPerSubscription / 2) this.blocked = false
    this.pump()
  }

  /** The consumer holding `index` unacknowledged: `preferred` if it does, else any. */
  private holderOf (index: number, preferred?: DispatchConsumer): DispatchConsumer | undefined {
    if (preferred?.unacked.has(index)) return preferred
    for (const consumer of this.consumerStates.values()) if (consumer.unacked.has(index)) return consumer
    return undefined
  }

  /** The batch goes back to be redelivered, with its redelivery count raised. */
  private requeue (consumer: DispatchConsumer, index: number): void {
    const key = consumer.unacked.keyOf(index)
    const messageCount = consumer.unacked.messageCountOf(index)
    consumer.unacked.remove(index)
    this.policy.released(index)
    this.redeliveries.increment(index)
    this.replay.add(index, { key, messageCount })
  }

  private requeueAll (): void {
    for (const consumer of this.consumerStates.values()) for (const index of consumer.unacked.indexes()) this.requeue(consumer, index)
  }

  private dropConsumer (consumerId: number): void {
    const consumer = this.consumerStates.get(consumerId)
    if (consumer === undefined) return
    for (const index of consumer.unacked.indexes()) this.requeue(consumer, index)
    this.consumerStates.delete(consumerId)
  }

  private stop (): void {
    this.reads.stop()
    this.delayed.stop()
    this.unsubscribeCommits()
    this.tracker.stop()
    this.policy.stop()
  }

  /**
   * Why nothing can be delivered now though something is pending (null: dispatch is
   * progressing, a read is in flight, or there is nothing to deliver). The simulator's liveness
   * oracle holds dispatch to it: pending, permits and no reason imply a delivery soon.
   */
  private subscriptionReason (pendingMessages: number): DispatchBlockReason | null {
    if (this.state === 'closed') return 'LEADER_MOVING'
    if (this.consumerStates.size === 0) return pendingMessages > 0 || this.delayed.size > 0 ? 'NO_CONSUMERS' : null
    if (pendingMessages === 0) return this.delayed.size > 0 ? 'ALL_DELAYED' : null
    if (this.blocked) return 'UNACKED_LIMIT'
    if (this.reads.busy || this.policy.onHold || this.firstReadyReplay() !== undefined) return null
    const newMessages = pendingMessages - this.replay.messageCount
    if (newMessages > 0 && this.delayedIndexFull) return 'ALL_DELAYED'
    if (newMessages > 0 && this.replay.messageCount < this.limits.replayLookAheadMessages && this.policy.canServeAny()) return null
    const consumers = [...this.consumerStates.values()]
    if (consumers.every((consumer) => consumer.permits <= 0)) return 'NO_PERMITS'
    if (consumers.every((consumer) => consumer.permits <= 0 || !this.canTake(consumer))) return 'UNACKED_LIMIT'
    if (consumers.some((consumer) => this.policy.blockedKeyHashes(consumer).length > 0)) return 'KEY_BLOCKED_BY_UNACKED'
    // The consumers that could take the waiting batches (their key's owner, the active one) have no permits.
    return 'NO_PERMITS'
  }

  private consumerReason (consumer: DispatchConsumer, subscription: DispatchBlockReason | null, blockedKeys: number): DispatchBlockReason | null {
    if (subscription === 'LEADER_MOVING') return subscription
    if (consumer.permits <= 0) return 'NO_PERMITS'
    if (!this.canTake(consumer) || this.blocked) return 'UNACKED_LIMIT'
    if (blockedKeys > 0) return 'KEY_BLOCKED_BY_UNACKED'
    return subscription === 'ALL_DELAYED' ? subscription : null
  }

  /** The first waiting batch some consumer could take now, respecting each ordering domain. */
  private firstReadyReplay (): number | undefined {
    const blockedKeys = new Set<number>()
    for (const index of this.replay.indexes()) {
      const { key } = this.replay.get(index)!
      if (key !== null && blockedKeys.has(key)) continue
      if (this.policy.canServe(key)) return index
      if (key === null) return undefined
      blockedKeys.add(key)
    }
    return undefined
  }

  /** Starts a read when something could be delivered: waiting batches first, then new ones. */
  private pump (): void {
    if (this.reads.busy) {
      this.reads.requestWake()
      return
    }
    if (this.state !== 'consuming' || this.blocked || this.policy.onHold) return
    const ready = this.firstReadyReplay()
    if (ready !== undefined) this.reads.read(ready, true)
    else if (this.replay.messageCount < this.limits.replayLookAheadMessages && this.policy.canServeAny()) this.reads.read(this.readPosition, false)
  }

  /** Delivers waiting batches (`replaying`) or new ones as the policy hands them out; returns whether progress was made. */
  private dispatch (batches: StoredBatch[], replaying: boolean): boolean {
    const out = new Map<DispatchConsumer, DeliveredEntry[]>()
    let progress = false
    // Domains with an earlier batch still waiting: later batches of the same domain wait too.
    // New reads come after every waiting batch; a replay read starts at the first batch that
    // was ready, so only the waiting batches before it block (a consumer may have gained
    // permits while the read ran, making a later batch of a blocked key look deliverable).
    const first = batches[0]?.index ?? Number.POSITIVE_INFINITY
    const blockedKeys = new Set<number>()
    for (const index of this.replay.indexes()) {
      const { key } = this.replay.get(index)!
      if (key !== null && (!replaying || index < first)) blockedKeys.add(key)
    }
    for (const batch of batches) {
      const waiting = this.replay.get(batch.index)
      if (replaying) {
        const last = this.replay.last()
        if (last === undefined || batch.index > last) break
        if (waiting === undefined) continue
      } else if (batch.index < this.readPosition) {
        continue
      }
      if (this.tracker.isAcked(batch.index)) {
        this.replay.remove(batch.index)
        if (!replaying) this.readPosition = batch.index + 1
        progress = true
        continue
      }
      const key: OrderKey = waiting?.key ?? this.policy.orderKey(batch)
      const deliverAt = batch.envelope.deliverAtTime ?? 0
      if (this.policy.delaysDelivery && deliverAt > this.env.clock.now()) {
        // Not before its time: parked (and found again by a new leader reading the log).
        if (!this.delayed.has(batch.index)) {
          if (this.delayed.size >= this.limits.maxDelayedMessages) {
            if (replaying) continue
            break
          }
          this.delayed.add({ index: batch.index, deliverAt, key, messageCount: batch.envelope.messageCount })
        }
        this.replay.remove(batch.index)
        if (!replaying) this.readPosition = batch.index + 1
        progress = true
        continue
      }
      const taker = key !== null && blockedKeys.has(key) ? undefined : this.policy.takerFor(key)
      if (taker === undefined) {
        if (key === null) break
        blockedKeys.add(key)
        if (replaying) continue
        if (!this.policy.parksUndeliverable || this.replay.messageCount >= this.limits.replayLookAheadMessages) break
        this.replay.add(batch.index, { key, messageCount: batch.envelope.messageCount })
        this.readPosition = batch.index + 1
        progress = true
        continue
      }
      assert(this.holderOf(batch.index) === undefined, `${this.topic}: batch ${batch.index} is already outstanding`)
      this.replay.remove(batch.index)
      const acked = batch.compactedOut === undefined ? this.tracker.ackedBatchIndexes(batch.index) : [...new Set([...this.tracker.ackedBatchIndexes(batch.index), ...batch.compactedOut])].sort((a, b) => a - b)
      const entries = out.get(taker) ?? []
      entries.push(deliveredEntry(this.partition, batch, this.redeliveries.get(batch.index), acked))
      out.set(taker, entries)
      taker.unacked.add(batch.index, { messageCount: batch.envelope.messageCount, acked, key, deliveredAt: this.env.clock.now() })
      taker.permits -= batch.envelope.messageCount
      this.policy.delivered(batch.index, key, taker)
      this.delivered++
      if (!replaying) this.readPosition = batch.index + 1
      progress = true
      if (this.unackedMessages >= this.limits.maxUnackedMessagesPerSubscription) {
        this.blocked = true
        break
      }
    }
    for (const [consumer, entries] of out) this.deliver(consumer.ref, entries)
    return progress
  }
}
