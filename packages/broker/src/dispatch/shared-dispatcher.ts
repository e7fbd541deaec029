// Consumer dispatch for a Shared subscription on the partition leader (Pulsar semantics): many
// consumers, batches handed out round-robin (up to `roundRobinBatchSize` per turn) to consumers
// that have permits and are under their unacked bound; individual acks only (a cumulative ack
// is refused); a negative ack or a departing consumer puts its unacknowledged batches on the
// replay list, which is delivered (to any consumer) before new batches. No ordering guarantee.
// Each unacknowledged batch is outstanding at exactly one consumer at a time.
import type { ConsumerDispatchStats } from './consumer-stats.ts'
import { timerApi, type Env, type TimerHandle } from '@blazar/env'
import { ConsumerBusyError, UnsupportedOperationError, type DeliveredEntry, type MessageIdData } from '@blazar/protocol'
import { createActor, type Actor } from 'xstate'
import type { StoredBatch } from '../partition/message-cache.ts'
import type { CursorState } from '../partition/subscription-cursor.ts'
import { assert } from '../state-machine.ts'
import { CursorTracker } from './cursor-tracker.ts'
import { DEFAULT_DISPATCH_LIMITS, type DispatchLimits, type DispatchSource, type DispatcherOptions } from './dispatch-options.ts'
import { RedeliveryCounts } from './redelivery-counts.ts'
import { subscriptionLifecycle, type ConsumerRef, type SubscriptionLifecycleState } from './subscription-lifecycle.ts'
import { UnackedEntries } from './unacked-entries.ts'

interface SharedConsumer {
  ref: ConsumerRef
  permits: number
  unacked: UnackedEntries
}

export class SharedDispatcher {
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
  private readonly redeliveries = new RedeliveryCounts()
  /** In attach order; the round-robin walks it. */
  private readonly consumers = new Map<number, SharedConsumer>()
  private turn: { consumerId: number, sent: number } | null = null
  /** Batches to deliver again, ascending. Bounded by the subscription's unacked bound. */
  private replay: number[] = []
  private readPosition: number
  /** Set when the subscription reaches its unacked bound; cleared at half of it. */
  private blocked = false
  private reading = false
  private readEpoch = 0
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
        consumerAttached: ({ event }) => {
          if (event.type === 'ATTACH') this.consumers.set(event.consumer.consumerId, { ref: event.consumer, permits: 0, unacked: new UnackedEntries() })
        },
        consumerLost: ({ event }) => {
          if (event.type === 'DETACH') this.dropConsumer(event.consumerId)
        },
        allConsumersLost: () => {
          for (const consumerId of [...this.consumers.keys()]) this.dropConsumer(consumerId)
        },
        stopped: () => this.stop()
      }
    })
    this.actor = createActor(machine, { input: { subscriptionType: 'Shared' }, clock: timerApi(this.env.clock) })
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

  get consumerIds (): number[] {
    return [...this.consumers.keys()]
  }

  /** Unacknowledged messages of the whole subscription. */
  get unackedMessages (): number {
    let total = 0
    for (const consumer of this.consumers.values()) total += consumer.unacked.messageCount
    return total
  }

  consumerStats (): ConsumerDispatchStats[] {
    return [...this.consumers.values()].map((consumer) => ({
      consumerId: consumer.ref.consumerId,
      consumerName: consumer.ref.consumerName,
      availablePermits: consumer.permits,
      unackedMessages: consumer.unacked.messageCount,
      blockedConsumerOnUnackedMsgs: this.blocked || consumer.unacked.messageCount >= this.limits.maxUnackedMessagesPerConsumer
    }))
  }

  attach (consumer: ConsumerRef): void {
    const event = { type: 'ATTACH' as const, consumer }
    if (!this.actor.getSnapshot().can(event)) throw new ConsumerBusyError({ topic: this.topic, subscription: this.subscription })
    this.actor.send(event)
  }

  detach (consumerId: number): void {
    this.actor.send({ type: 'DETACH', consumerId })
    this.pump()
  }

  close (reason: string): void {
    this.actor.send({ type: 'CLOSE', reason })
  }

  flow (consumerId: number, permits: number): void {
    const consumer = this.consumers.get(consumerId)
    if (consumer === undefined || this.state !== 'consuming') return
    consumer.permits += permits
    this.pump()
  }

  /** Individual acks (from the consumer that holds the batch, or any other). */
  acknowledge (consumerId: number, ids: readonly MessageIdData[]): void {
    if (!this.consumers.has(consumerId)) return
    for (const id of ids) {
      if (id.partition !== this.partition) continue
      const holder = this.holderOf(id.index, consumerId)
      if (holder === undefined || !holder.unacked.ackMessage(id.index, id.batchIndex)) continue
      this.redeliveries.forget(id.index)
      this.tracker.ackEntry(id.index)
    }
    this.tracker.changed()
    if (this.blocked && this.unackedMessages <= this.limits.maxUnackedMessagesPerSubscription / 2) this.blocked = false
    this.pump()
  }

  acknowledgeCumulative (_consumerId: number, _id: MessageIdData): void {
    throw new UnsupportedOperationError({ operation: 'cumulative acknowledgement', reason: 'not allowed on Shared subscriptions' })
  }

  /** Negative ack of the given messages (their whole batches), or of everything the consumer holds. */
  redeliverUnacknowledged (consumerId: number, ids?: readonly MessageIdData[]): void {
    const consumer = this.consumers.get(consumerId)
    if (consumer === undefined) return
    const indexes = ids === undefined ? consumer.unacked.takeAll() : [...new Set(ids.map((id) => id.index))].filter((index) => consumer.unacked.has(index))
    for (const index of indexes) {
      consumer.unacked.remove(index)
      this.toReplay(index)
    }
    this.pump()
  }

  cursorReset (cursor: CursorState): void {
    this.tracker.reset(cursor)
    for (const consumer of this.consumers.values()) consumer.unacked.takeAll()
    this.replay = []
    this.readPosition = this.tracker.markDelete + 1
    this.readEpoch++
    this.reading = false
    this.pump()
  }

  flush (): Promise<void> {
    return this.tracker.flush()
  }

  // ---- internals -----------------------------------------------------------------------

  private holderOf (index: number, preferred: number): SharedConsumer | undefined {
    const first = this.consumers.get(preferred)
    if (first?.unacked.has(index)) return first
    for (const consumer of this.consumers.values()) if (consumer.unacked.has(index)) return consumer
    return undefined
  }

  private dropConsumer (consumerId: number): void {
    const consumer = this.consumers.get(consumerId)
    if (consumer === undefined) return
    for (const index of consumer.unacked.takeAll()) this.toReplay(index)
    this.consumers.delete(consumerId)
    if (this.turn?.consumerId === consumerId) this.turn = null
  }

  private toReplay (index: number): void {
    this.redeliveries.increment(index)
    let lo = 0
    let hi = this.replay.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.replay[mid] < index) lo = mid + 1
      else hi = mid
    }
    if (this.replay[lo] !== index) this.replay.splice(lo, 0, index)
  }

  private removeFromReplay (index: number): void {
    const at = this.replay.indexOf(index)
    if (at >= 0) this.replay.splice(at, 1)
  }

  private canTake (consumer: SharedConsumer): boolean {
    return consumer.permits > 0 && consumer.unacked.messageCount < this.limits.maxUnackedMessagesPerConsumer
  }

  /** The consumer whose turn it is: the current one until it had its batch quota or can take no more. */
  private nextConsumer (): SharedConsumer | undefined {
    const ids = [...this.consumers.keys()]
    if (ids.length === 0) return undefined
    const current = this.turn === null ? undefined : this.consumers.get(this.turn.consumerId)
    if (current !== undefined && this.turn !== null && this.turn.sent < this.limits.roundRobinBatchSize && this.canTake(current)) return current
    const start = this.turn === null ? 0 : ids.indexOf(this.turn.consumerId) + 1
    for (let k = 0; k < ids.length; k++) {
      const candidate = this.consumers.get(ids[(start + k) % ids.length])!
      if (this.canTake(candidate)) {
        this.turn = { consumerId: candidate.ref.consumerId, sent: 0 }
        return candidate
      }
    }
    return undefined
  }

  private stop (): void {
    this.readEpoch++
    this.unsubscribeCommits()
    this.tracker.stop()
    if (this.retryTimer !== null) this.env.clock.clearTimer(this.retryTimer)
    this.retryTimer = null
  }

  private pump (): void {
    if (this.state !== 'consuming' || this.reading || this.retryTimer !== null || this.blocked) return
    if (![...this.consumers.values()].some((consumer) => this.canTake(consumer))) return
    this.reading = true
    this.committedDuringRead = false
    const epoch = this.readEpoch
    const fromReplay = this.replay.length > 0
    const from = fromReplay ? this.replay[0] : this.readPosition
    this.source.read(from, { maxEntries: this.limits.readBatchEntries, maxBytes: this.limits.readBatchBytes }).then(
      (batches) => {
        if (epoch !== this.readEpoch) return
        this.reading = false
        if (this.dispatch(batches, fromReplay) || this.committedDuringRead) this.pump()
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

  /** Hands batches out round-robin; returns whether another read may deliver more. */
  private dispatch (batches: StoredBatch[], fromReplay: boolean): boolean {
    const out = new Map<SharedConsumer, DeliveredEntry[]>()
    let progress = false
    for (const batch of batches) {
      if (fromReplay) {
        if (this.replay.length === 0 || batch.index > this.replay[this.replay.length - 1]) break
        if (!this.replay.includes(batch.index)) continue
        if (this.tracker.isAcked(batch.index)) {
          this.removeFromReplay(batch.index)
          progress = true
          continue
        }
      } else {
        if (batch.index < this.readPosition) continue
        if (this.tracker.isAcked(batch.index)) {
          this.readPosition = batch.index + 1
          progress = true
          continue
        }
      }
      const consumer = this.nextConsumer()
      if (consumer === undefined) break
      assert(!this.holderOf(batch.index, consumer.ref.consumerId), `${this.topic}: batch ${batch.index} is already outstanding`)
      const entries = out.get(consumer) ?? []
      entries.push({
        messageId: { partition: this.partition, index: batch.index, batchIndex: 0 },
        redeliveryCount: this.redeliveries.get(batch.index),
        publishTime: batch.publishTime,
        batch: batch.envelope
      })
      out.set(consumer, entries)
      consumer.unacked.add(batch.index, batch.envelope.messageCount)
      consumer.permits -= batch.envelope.messageCount
      this.turn!.sent++
      if (fromReplay) this.removeFromReplay(batch.index)
      else this.readPosition = batch.index + 1
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
