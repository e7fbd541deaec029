// Consumer dispatch for an Exclusive subscription on the partition leader (DESIGN.md §6).
// The lifecycle (no consumer / consuming / closed) is the xstate machine in
// subscription-lifecycle.ts; the hot path is plain code: it reads committed batches from the
// partition (cache, then log), delivers whole batches while the consumer has flow permits,
// tracks what is unacknowledged, redelivers it when asked or when the consumer goes away, and
// proposes the cursor through Raft in batches (CursorTracker), so a new leader resumes from the
// replicated cursor. Delivery is at-least-once.
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

export class ExclusiveDispatcher {
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
  private permits = 0
  private reading = false
  /** Bumped by every rewind and close: a read that started before is discarded. */
  private readEpoch = 0
  /** A batch was committed while a read was in flight: read again after it. */
  private committedDuringRead = false
  private retryTimer: TimerHandle | null = null

  constructor (options: DispatcherOptions) {
    this.env = options.env
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
        consumerAttached: () => {
          this.permits = 0
          this.pump()
        },
        consumerLost: () => this.rewind(),
        allConsumersLost: () => this.rewind(),
        stopped: () => this.stop()
      }
    })
    this.actor = createActor(machine, { input: { subscriptionType: 'Exclusive' }, clock: timerApi(this.env.clock) })
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

  get consumer (): ConsumerRef | null {
    return this.actor.getSnapshot().context.consumers[0] ?? null
  }

  /** Delivered and unacknowledged, in messages. */
  get unackedMessages (): number {
    return this.unacked.messageCount
  }

  get availablePermits (): number {
    return this.permits
  }

  /** Connects the subscription's one consumer; a second one gets ConsumerBusyError. */
  attach (consumer: ConsumerRef): void {
    const event = { type: 'ATTACH' as const, consumer }
    if (!this.actor.getSnapshot().can(event)) throw new ConsumerBusyError({ topic: this.topic, subscription: this.subscription })
    this.actor.send(event)
  }

  /** The consumer closed or its connection dropped: its unacknowledged messages will be redelivered. */
  detach (consumerId: number): void {
    this.actor.send({ type: 'DETACH', consumerId })
  }

  /** Subscription deleted or leadership lost: stop for good. */
  close (reason: string): void {
    this.actor.send({ type: 'CLOSE', reason })
  }

  /** FLOW: the consumer can take `permits` more messages. */
  flow (consumerId: number, permits: number): void {
    if (!this.isActive(consumerId)) return
    this.permits += permits
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
    return this.state === 'consuming' && this.consumer?.consumerId === consumerId
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
    if (this.retryTimer !== null) this.env.clock.clearTimer(this.retryTimer)
    this.retryTimer = null
  }

  /** Reads and delivers while the consumer has permits and the unacked bound allows. */
  private pump (): void {
    if (this.state !== 'consuming' || this.reading || this.retryTimer !== null) return
    if (this.permits <= 0 || this.unacked.messageCount >= this.limits.maxUnackedMessagesPerConsumer) return
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
    const consumer = this.consumer
    if (consumer === null) return false
    const out: DeliveredEntry[] = []
    for (const batch of batches) {
      if (batch.index < this.readPosition) continue
      if (this.tracker.isAcked(batch.index)) {
        this.readPosition = batch.index + 1
        continue
      }
      if (this.permits <= 0 || this.unacked.messageCount >= this.limits.maxUnackedMessagesPerConsumer) break
      out.push({
        messageId: { partition: this.partition, index: batch.index, batchIndex: 0 },
        redeliveryCount: this.redeliveries.get(batch.index),
        publishTime: batch.publishTime,
        batch: batch.envelope
      })
      this.unacked.add(batch.index, batch.envelope.messageCount)
      this.permits -= batch.envelope.messageCount
      this.readPosition = batch.index + 1
    }
    if (out.length > 0) this.deliver(consumer, out)
    return batches.length > 0 && this.readPosition > batches[0].index
  }
}
