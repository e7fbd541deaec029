// Consumer dispatch for the subscription types with one active consumer, on the partition
// leader (DESIGN.md §6): Exclusive (one consumer; a second is refused) and Failover (many
// consumers, one active: on a non-partitioned topic the first to attach, on partition i the
// consumer at i mod n in name order, as Pulsar; when the active one changes its unacknowledged
// batches go to the next after the failover delay). The lifecycle (no consumer / consuming /
// closed) is the xstate machine in subscription-lifecycle.ts; the hot path is plain code: it
// reads committed batches (cache, then log), delivers whole batches while the active consumer
// has flow permits, tracks what is unacknowledged, redelivers it when asked or when the
// consumer goes away, and proposes the cursor through Raft in batches (CursorTracker), so a new
// leader resumes from the replicated cursor. Delivery is at-least-once, in partition order.
import type { ConsumerDispatchStats } from './consumer-stats.ts'
import { timerApi, type Env, type TimerHandle } from '@blazar/env'
import { ConsumerBusyError, type DeliveredEntry, type MessageIdData } from '@blazar/protocol'
import { createActor, type Actor } from 'xstate'
import type { StoredBatch } from '../partition/message-cache.ts'
import type { CursorState } from '../partition/subscription-cursor.ts'
import { CursorTracker } from './cursor-tracker.ts'
import { DEFAULT_DISPATCH_LIMITS, type DispatchLimits, type DispatchSource, type DispatcherOptions } from './dispatch-options.ts'
import { RedeliveryCounts } from './redelivery-counts.ts'
import { subscriptionLifecycle, type ConsumerRef, type SubscriptionLifecycleState } from './subscription-lifecycle.ts'
import { UnackedEntries } from './unacked-entries.ts'

/** Pulsar `activeConsumerFailoverDelayTimeMillis`. */
export const DEFAULT_FAILOVER_DELAY_MS = 1_000

export interface SingleActiveDispatcherOptions extends DispatcherOptions {
  subscriptionType: 'Exclusive' | 'Failover'
  /** Failover: wait this long before the new active consumer receives (default 1,000 ms). */
  failoverDelayMs?: number
  /** Failover: the active consumer changed (the host pushes `active-consumer-change` to each consumer). */
  activeChanged?: (consumers: readonly ConsumerRef[], active: ConsumerRef | null) => void
}

export class SingleActiveDispatcher {
  readonly topic: string
  readonly subscription: string
  private readonly env: Env
  private readonly partition: number
  private readonly source: DispatchSource
  private readonly deliver: DispatcherOptions['deliver']
  private readonly limits: DispatchLimits
  private readonly actor: Actor<typeof subscriptionLifecycle>
  private readonly unsubscribeCommits: () => void
  private readonly tracker: CursorTracker
  private readonly unacked = new UnackedEntries()
  private readonly redeliveries = new RedeliveryCounts()

  /** Next index to read; every message entry below it was delivered or is acknowledged. */
  private readPosition: number
  private readonly subscriptionType: 'Exclusive' | 'Failover'
  private readonly failoverDelayMs: number
  private readonly activeChanged: SingleActiveDispatcherOptions['activeChanged']
  /** Flow permits per consumer (Failover consumers that are not active keep theirs). */
  private readonly permits = new Map<number, number>()
  private active: ConsumerRef | null = null
  /** Failover: dispatch waits until this timer fires after the active consumer changed. */
  private failoverTimer: TimerHandle | null = null
  private reading = false
  /** Bumped by every rewind and close: a read that started before is discarded. */
  private readEpoch = 0
  /** A batch was committed while a read was in flight: read again after it. */
  private committedDuringRead = false
  private retryTimer: TimerHandle | null = null

  constructor (options: SingleActiveDispatcherOptions) {
    this.env = options.env
    this.subscriptionType = options.subscriptionType
    this.failoverDelayMs = options.failoverDelayMs ?? DEFAULT_FAILOVER_DELAY_MS
    this.activeChanged = options.activeChanged
    this.topic = options.topic
    this.partition = options.partition
    this.subscription = options.cursor.subscription
    this.source = options.source
    this.deliver = options.deliver
    this.limits = { ...DEFAULT_DISPATCH_LIMITS, ...options.limits }
    this.tracker = new CursorTracker({
      env: this.env,
      topic: this.topic,
      cursor: options.cursor,
      nextMessageIndex: (index) => this.source.nextMessageIndex(index),
      proposeCursor: options.proposeCursor,
      flushIntervalMs: this.limits.cursorFlushIntervalMs,
      flushMaxAcks: this.limits.cursorFlushMaxAcks
    })
    this.readPosition = this.tracker.markDelete + 1
    const machine = subscriptionLifecycle.provide({
      actions: {
        consumerAttached: ({ event }) => {
          if (event.type === 'ATTACH') this.permits.set(event.consumer.consumerId, 0)
        },
        consumerLost: ({ event }) => {
          if (event.type === 'DETACH') this.permits.delete(event.consumerId)
        },
        allConsumersLost: () => this.permits.clear(),
        stopped: () => this.stop()
      }
    })
    this.actor = createActor(machine, { input: { subscriptionType: this.subscriptionType }, clock: timerApi(this.env.clock) })
    this.actor.subscribe({ error: (error) => this.env.logger.error('subscription lifecycle failed', { topic: this.topic, subscription: this.subscription, error: String(error) }) })
    this.actor.start()
    this.unsubscribeCommits = this.source.onCommit(() => {
      if (this.reading) this.committedDuringRead = true
      this.pump()
    })
  }

  get state (): SubscriptionLifecycleState {
    return this.actor.getSnapshot().value as SubscriptionLifecycleState
  }

  /** The consumer that receives messages now. */
  get consumer (): ConsumerRef | null {
    return this.active
  }

  get consumers (): readonly ConsumerRef[] {
    return this.actor.getSnapshot().context.consumers
  }

  /** Delivered and unacknowledged, in messages. */
  get unackedMessages (): number {
    return this.unacked.messageCount
  }

  /** Permits of the active consumer. */
  get availablePermits (): number {
    return this.active === null ? 0 : this.permits.get(this.active.consumerId) ?? 0
  }

  /** Each attached consumer's permits and unacknowledged messages (only the active one has any unacked). */
  consumerStats (): ConsumerDispatchStats[] {
    return this.consumers.map((consumer) => {
      const active = this.active?.consumerId === consumer.consumerId
      const unackedMessages = active ? this.unacked.messageCount : 0
      return {
        consumerId: consumer.consumerId,
        consumerName: consumer.consumerName,
        availablePermits: this.permits.get(consumer.consumerId) ?? 0,
        unackedMessages,
        blockedConsumerOnUnackedMsgs: unackedMessages >= this.limits.maxUnackedMessagesPerConsumer
      }
    })
  }

  /** Connects a consumer; on Exclusive a second one gets ConsumerBusyError. */
  attach (consumer: ConsumerRef): void {
    const event = { type: 'ATTACH' as const, consumer }
    if (!this.actor.getSnapshot().can(event)) throw new ConsumerBusyError({ topic: this.topic, subscription: this.subscription })
    this.actor.send(event)
    this.chooseActive()
  }

  /** A consumer closed or its connection dropped: if it was active, its unacknowledged messages will be redelivered. */
  detach (consumerId: number): void {
    this.actor.send({ type: 'DETACH', consumerId })
    this.chooseActive()
  }

  /** Subscription deleted or leadership lost: stop for good. */
  close (reason: string): void {
    this.actor.send({ type: 'CLOSE', reason })
    this.chooseActive()
  }

  /** FLOW: the consumer can take `permits` more messages. */
  flow (consumerId: number, permits: number): void {
    const current = this.permits.get(consumerId)
    if (current === undefined || this.state !== 'consuming') return
    this.permits.set(consumerId, current + permits)
    this.pump()
  }

  /** Individual ack: each message; a batch is acknowledged once all its messages are. */
  acknowledge (consumerId: number, ids: readonly MessageIdData[]): void {
    if (!this.isActive(consumerId)) return
    for (const id of ids) {
      if (id.partition !== this.partition || !this.unacked.ackMessage(id.index, id.batchIndex)) continue
      this.redeliveries.forget(id.index)
      this.tracker.ackEntry(id.index)
    }
    this.tracker.changed()
    this.pump()
  }

  /** Cumulative ack: everything up to and including `id`. */
  acknowledgeCumulative (consumerId: number, id: MessageIdData): void {
    if (!this.isActive(consumerId) || id.partition !== this.partition) return
    const complete = this.unacked.ackUpTo(id.index, id.batchIndex)
    // Never past what was delivered: an ID the consumer cannot have received acks nothing more.
    const upTo = Math.min(complete ? id.index : id.index - 1, this.readPosition - 1)
    for (const index of this.unacked.indexes()) if (index <= upTo) this.unacked.remove(index)
    this.tracker.ackUpTo(upTo)
    if (complete) this.tracker.ackEntry(id.index)
    this.tracker.changed()
    this.pump()
  }

  /** REDELIVER (also what a negative ack does on Exclusive): everything unacknowledged is sent again. */
  redeliverUnacknowledged (consumerId: number): void {
    if (!this.isActive(consumerId)) return
    this.rewind()
    this.pump()
  }

  /** After a `reset` subscription entry was applied: continue from the reset cursor. */
  cursorReset (cursor: CursorState): void {
    this.tracker.reset(cursor)
    this.rewind()
    this.pump()
  }

  /** Proposes the cursor now if it changed since the last proposal. */
  flush (): Promise<void> {
    return this.tracker.flush()
  }

  // ---- internals -----------------------------------------------------------------------

  private isActive (consumerId: number): boolean {
    return this.state === 'consuming' && this.active?.consumerId === consumerId
  }

  /**
   * Recomputes the active consumer after consumers came or went. When it changes, everything
   * unacknowledged is redelivered to the new one; on Failover only after the failover delay.
   */
  private chooseActive (): void {
    const consumers = this.state === 'consuming' ? this.consumers : []
    let next: ConsumerRef | null = consumers[0] ?? null
    if (this.subscriptionType === 'Failover' && this.partition >= 0 && consumers.length > 0) {
      const byName = [...consumers].sort((a, b) => (a.consumerName < b.consumerName ? -1 : a.consumerName > b.consumerName ? 1 : a.consumerId - b.consumerId))
      next = byName[this.partition % byName.length]
    }
    if (next?.consumerId === this.active?.consumerId) return
    const previous = this.active
    this.active = next
    this.rewind()
    if (this.subscriptionType === 'Failover') {
      this.activeChanged?.(consumers, next)
      if (previous !== null && next !== null && this.failoverDelayMs > 0) this.holdForFailover()
    }
    this.pump()
  }

  private holdForFailover (): void {
    if (this.failoverTimer !== null) this.env.clock.clearTimer(this.failoverTimer)
    this.failoverTimer = this.env.clock.setTimer(this.failoverDelayMs, () => {
      this.failoverTimer = null
      this.pump()
    })
  }

  /** Puts every unacknowledged batch back to be read and delivered again. */
  private rewind (): void {
    for (const index of this.unacked.takeAll()) this.redeliveries.increment(index)
    this.readPosition = this.tracker.markDelete + 1
    this.readEpoch++
    this.reading = false
  }

  private stop (): void {
    this.readEpoch++
    this.unsubscribeCommits()
    this.tracker.stop()
    for (const timer of [this.retryTimer, this.failoverTimer]) if (timer !== null) this.env.clock.clearTimer(timer)
    this.retryTimer = null
    this.failoverTimer = null
  }

  /** Reads and delivers while the consumer has permits and the unacked bound allows. */
  private pump (): void {
    if (this.state !== 'consuming' || this.reading || this.retryTimer !== null || this.failoverTimer !== null) return
    if (this.availablePermits <= 0 || this.unacked.messageCount >= this.limits.maxUnackedMessagesPerConsumer) return
    this.reading = true
    this.committedDuringRead = false
    const epoch = this.readEpoch
    this.source.read(this.readPosition, { maxEntries: this.limits.readBatchEntries, maxBytes: this.limits.readBatchBytes }).then(
      (batches) => {
        if (epoch !== this.readEpoch) return
        this.reading = false
        if (this.dispatch(batches) || this.committedDuringRead) this.pump()
      },
      (error: unknown) => {
        if (epoch !== this.readEpoch) return
        this.reading = false
        this.env.logger.warn('dispatch read failed; will retry', { topic: this.topic, subscription: this.subscription, error: String(error) })
        this.retryTimer = this.env.clock.setTimer(this.limits.retryDelayMs, () => {
          this.retryTimer = null
          this.pump()
        })
      }
    )
  }

  /** Delivers what permits allow; returns whether reading further may deliver more. */
  private dispatch (batches: StoredBatch[]): boolean {
    const consumer = this.active
    if (consumer === null) return false
    let permits = this.permits.get(consumer.consumerId) ?? 0
    const out: DeliveredEntry[] = []
    for (const batch of batches) {
      if (batch.index < this.readPosition) continue
      if (this.tracker.isAcked(batch.index)) {
        this.readPosition = batch.index + 1
        continue
      }
      if (permits <= 0 || this.unacked.messageCount >= this.limits.maxUnackedMessagesPerConsumer) break
      out.push({
        messageId: { partition: this.partition, index: batch.index, batchIndex: 0 },
        redeliveryCount: this.redeliveries.get(batch.index),
        publishTime: batch.publishTime,
        batch: batch.envelope
      })
      this.unacked.add(batch.index, batch.envelope.messageCount)
      permits -= batch.envelope.messageCount
      this.readPosition = batch.index + 1
    }
    this.permits.set(consumer.consumerId, permits)
    if (out.length > 0) this.deliver(consumer, out)
    return batches.length > 0 && this.readPosition > batches[0].index
  }
}

/** Exclusive: one consumer; a second gets ConsumerBusyError. */
export class ExclusiveDispatcher extends SingleActiveDispatcher {
  constructor (options: DispatcherOptions) {
    super({ ...options, subscriptionType: 'Exclusive' })
  }
}

/** Failover: many consumers, one active (see the header). */
export class FailoverDispatcher extends SingleActiveDispatcher {
  constructor (options: DispatcherOptions & Pick<SingleActiveDispatcherOptions, 'failoverDelayMs' | 'activeChanged'>) {
    super({ ...options, subscriptionType: 'Failover' })
  }
}
