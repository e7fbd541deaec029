// Consumer dispatch for a Key_Shared subscription on the partition leader, with Pulsar 4's
// contract (PIP-379): every batch goes to the consumer owning its key's hash on a consistent-
// hashing ring, and the batches of one key hash are outstanding (delivered, unacknowledged) at
// only one consumer at a time. When consumers come and go, a hash whose owner changed is
// "draining": its new batches wait until the old owner has acknowledged (or lost) what it
// holds. Batches that must wait (owner without permits, hash draining, or an earlier batch of
// the same hash waiting) go to the replay list, in index order, so each key keeps its order.
// Producers must batch by key (Pulsar's key-based batcher): a batch's key is its envelope key.
import type { ConsumerDispatchStats } from './consumer-stats.ts'
import { timerApi, type Env, type TimerHandle } from '@blazar/env'
import { ConsumerBusyError, UnsupportedOperationError, keyHash, type DeliveredEntry, type MessageIdData } from '@blazar/protocol'
import { createActor, type Actor } from 'xstate'
import type { StoredBatch } from '../partition/message-cache.ts'
import type { CursorState } from '../partition/subscription-cursor.ts'
import { assert } from '../state-machine.ts'
import { CursorTracker } from './cursor-tracker.ts'
import { DEFAULT_DISPATCH_LIMITS, type DispatchLimits, type DispatchSource, type DispatcherOptions } from './dispatch-options.ts'
import { HashRing, NONE_KEY_HASH } from './hash-ring.ts'
import { RedeliveryCounts } from './redelivery-counts.ts'
import { subscriptionLifecycle, type ConsumerRef, type SubscriptionLifecycleState } from './subscription-lifecycle.ts'
import { UnackedEntries } from './unacked-entries.ts'

/** Pulsar `keySharedLookAheadMsgInReplayThresholdPerSubscription`: messages waiting in replay before new reads stop. */
export const MAX_KEY_SHARED_REPLAY_MESSAGES = 20_000

interface KeySharedConsumer {
  ref: ConsumerRef
  permits: number
  unacked: UnackedEntries
}

interface Waiting {
  hash: number
  messageCount: number
}

export function batchKeyHash (batch: StoredBatch): number {
  return batch.envelope.key === undefined ? NONE_KEY_HASH : keyHash(batch.envelope.key)
}

export class KeySharedDispatcher {
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
  private readonly ring = new HashRing()
  private readonly consumers = new Map<number, KeySharedConsumer>()
  /** Key hash → the consumer holding its outstanding batches, and how many. */
  private readonly outstanding = new Map<number, { consumerId: number, batches: number }>()
  /** Outstanding batch index → its key hash. */
  private readonly hashOfOutstanding = new Map<number, number>()
  /** Batches waiting to be (re)delivered, by index; `replayOrder` keeps them ascending. */
  private readonly waiting = new Map<number, Waiting>()
  private replayOrder: number[] = []
  private waitingMessages = 0
  private readPosition: number
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
          if (event.type !== 'ATTACH') return
          this.consumers.set(event.consumer.consumerId, { ref: event.consumer, permits: 0, unacked: new UnackedEntries() })
          this.ring.rebuild(this.consumerRefs())
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
    this.actor = createActor(machine, { input: { subscriptionType: 'Key_Shared' }, clock: timerApi(this.env.clock) })
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

  /** The consumer a key's batches go to now (undefined without consumers). */
  ownerOf (key: string | undefined): number | undefined {
    return this.ring.owner(key === undefined ? NONE_KEY_HASH : keyHash(key))
  }

  consumerStats (): ConsumerDispatchStats[] {
    return [...this.consumers.values()].map((consumer) => ({
      consumerId: consumer.ref.consumerId,
      consumerName: consumer.ref.consumerName,
      availablePermits: consumer.permits,
      unackedMessages: consumer.unacked.messageCount,
      blockedConsumerOnUnackedMsgs: consumer.unacked.messageCount >= this.limits.maxUnackedMessagesPerConsumer
    }))
  }

  attach (consumer: ConsumerRef): void {
    const event = { type: 'ATTACH' as const, consumer }
    if (!this.actor.getSnapshot().can(event)) throw new ConsumerBusyError({ topic: this.topic, subscription: this.subscription })
    this.actor.send(event)
    this.pump()
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

  acknowledge (consumerId: number, ids: readonly MessageIdData[]): void {
    const consumer = this.consumers.get(consumerId)
    if (consumer === undefined) return
    for (const id of ids) {
      if (id.partition !== this.partition || !consumer.unacked.has(id.index)) continue
      if (!consumer.unacked.ackMessage(id.index, id.batchIndex)) continue
      this.release(id.index)
      this.redeliveries.forget(id.index)
      this.tracker.ackEntry(id.index)
    }
    this.tracker.changed()
    this.pump()
  }

  acknowledgeCumulative (_consumerId: number, _id: MessageIdData): void {
    throw new UnsupportedOperationError({ operation: 'cumulative acknowledgement', reason: 'not allowed on Key_Shared subscriptions' })
  }

  /** Negative ack of the given messages (their whole batches), or of everything the consumer holds. */
  redeliverUnacknowledged (consumerId: number, ids?: readonly MessageIdData[]): void {
    const consumer = this.consumers.get(consumerId)
    if (consumer === undefined) return
    const indexes = ids === undefined ? consumer.unacked.indexes() : [...new Set(ids.map((id) => id.index))].filter((index) => consumer.unacked.has(index))
    for (const index of indexes) this.requeue(consumer, index)
    this.pump()
  }

  cursorReset (cursor: CursorState): void {
    this.tracker.reset(cursor)
    for (const consumer of this.consumers.values()) consumer.unacked.takeAll()
    this.outstanding.clear()
    this.hashOfOutstanding.clear()
    this.waiting.clear()
    this.replayOrder = []
    this.waitingMessages = 0
    this.readPosition = this.tracker.markDelete + 1
    this.readEpoch++
    this.reading = false
    this.pump()
  }

  flush (): Promise<void> {
    return this.tracker.flush()
  }

  // ---- internals -----------------------------------------------------------------------

  private consumerRefs (): ConsumerRef[] {
    return [...this.consumers.values()].map((consumer) => consumer.ref)
  }

  /** The batch at `index` is no longer outstanding (acknowledged or going back to wait). */
  private release (index: number): void {
    const hash = this.hashOfOutstanding.get(index)
    assert(hash !== undefined, `${this.topic}: released batch ${index} was not outstanding`)
    this.hashOfOutstanding.delete(index)
    const entry = this.outstanding.get(hash)!
    if (--entry.batches === 0) this.outstanding.delete(hash)
  }

  private requeue (consumer: KeySharedConsumer, index: number): void {
    const hash = this.hashOfOutstanding.get(index)!
    const messageCount = consumer.unacked.messageCountOf(index)
    consumer.unacked.remove(index)
    this.release(index)
    this.redeliveries.increment(index)
    this.wait(index, { hash, messageCount })
  }

  private dropConsumer (consumerId: number): void {
    const consumer = this.consumers.get(consumerId)
    if (consumer === undefined) return
    for (const index of consumer.unacked.indexes()) this.requeue(consumer, index)
    this.consumers.delete(consumerId)
    this.ring.rebuild(this.consumerRefs())
  }

  private wait (index: number, waiting: Waiting): void {
    if (this.waiting.has(index)) return
    this.waiting.set(index, waiting)
    this.waitingMessages += waiting.messageCount
    let lo = 0
    let hi = this.replayOrder.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.replayOrder[mid] < index) lo = mid + 1
      else hi = mid
    }
    this.replayOrder.splice(lo, 0, index)
  }

  private stopWaiting (index: number): void {
    const waiting = this.waiting.get(index)
    if (waiting === undefined) return
    this.waiting.delete(index)
    this.waitingMessages -= waiting.messageCount
    this.replayOrder.splice(this.replayOrder.indexOf(index), 1)
  }

  /** The consumer that may take a batch of `hash` now, if any. */
  private takerFor (hash: number): KeySharedConsumer | undefined {
    const ownerId = this.ring.owner(hash)
    if (ownerId === undefined) return undefined
    const holder = this.outstanding.get(hash)
    if (holder !== undefined && holder.consumerId !== ownerId) return undefined
    const owner = this.consumers.get(ownerId)!
    if (owner.permits <= 0 || owner.unacked.messageCount >= this.limits.maxUnackedMessagesPerConsumer) return undefined
    return owner
  }

  /** Waiting batches that could go out now, in index order, respecting per-hash order. */
  private deliverableWaiting (): Set<number> {
    const blocked = new Set<number>()
    const ready = new Set<number>()
    for (const index of this.replayOrder) {
      const { hash } = this.waiting.get(index)!
      if (blocked.has(hash)) continue
      if (this.takerFor(hash) === undefined) blocked.add(hash)
      else ready.add(index)
    }
    return ready
  }

  private stop (): void {
    this.readEpoch++
    this.unsubscribeCommits()
    this.tracker.stop()
    if (this.retryTimer !== null) this.env.clock.clearTimer(this.retryTimer)
    this.retryTimer = null
  }

  private pump (): void {
    if (this.state !== 'consuming' || this.reading || this.retryTimer !== null) return
    const ready = this.deliverableWaiting()
    let from: number
    if (ready.size > 0) from = ready.values().next().value as number
    else if (this.waitingMessages < MAX_KEY_SHARED_REPLAY_MESSAGES && [...this.consumers.values()].some((c) => c.permits > 0)) from = this.readPosition
    else return
    this.reading = true
    this.committedDuringRead = false
    const epoch = this.readEpoch
    this.source.read(from, { maxEntries: this.limits.readBatchEntries, maxBytes: this.limits.readBatchBytes }).then(
      (batches) => {
        if (epoch !== this.readEpoch) return
        this.reading = false
        if (this.dispatch(batches, ready.size > 0) || this.committedDuringRead) this.pump()
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

  /** Delivers waiting batches first (when `replaying`), else new ones; returns whether progress was made. */
  private dispatch (batches: StoredBatch[], replaying: boolean): boolean {
    const out = new Map<KeySharedConsumer, DeliveredEntry[]>()
    let progress = false
    // Hashes with an earlier batch still waiting: later batches of the same key must wait too.
    // New reads come after every waiting batch; a replay read starts at the first batch that
    // was ready, so only the waiting batches before it block (a consumer may have gained
    // permits while the read ran, making a later batch of a blocked key look deliverable).
    const first = batches[0]?.index ?? Number.POSITIVE_INFINITY
    const blocked = new Set<number>()
    for (const index of this.replayOrder) {
      if (!replaying || index < first) blocked.add(this.waiting.get(index)!.hash)
    }
    for (const batch of batches) {
      const waiting = this.waiting.get(batch.index)
      if (replaying) {
        if (this.replayOrder.length === 0 || batch.index > this.replayOrder[this.replayOrder.length - 1]) break
        if (waiting === undefined) continue
      } else if (batch.index < this.readPosition) {
        continue
      }
      if (this.tracker.isAcked(batch.index)) {
        this.stopWaiting(batch.index)
        if (!replaying) this.readPosition = batch.index + 1
        progress = true
        continue
      }
      const hash = waiting?.hash ?? batchKeyHash(batch)
      const taker = blocked.has(hash) ? undefined : this.takerFor(hash)
      if (taker === undefined) {
        blocked.add(hash)
        if (!replaying) {
          if (this.waitingMessages >= MAX_KEY_SHARED_REPLAY_MESSAGES) break
          this.wait(batch.index, { hash, messageCount: batch.envelope.messageCount })
          this.readPosition = batch.index + 1
          progress = true
        }
        continue
      }
      this.stopWaiting(batch.index)
      const entries = out.get(taker) ?? []
      entries.push({
        messageId: { partition: this.partition, index: batch.index, batchIndex: 0 },
        redeliveryCount: this.redeliveries.get(batch.index),
        publishTime: batch.publishTime,
        batch: batch.envelope
      })
      out.set(taker, entries)
      taker.unacked.add(batch.index, batch.envelope.messageCount)
      taker.permits -= batch.envelope.messageCount
      this.hashOfOutstanding.set(batch.index, hash)
      const holder = this.outstanding.get(hash)
      assert(holder === undefined || holder.consumerId === taker.ref.consumerId, `${this.topic}: hash ${hash} outstanding at two consumers`)
      this.outstanding.set(hash, { consumerId: taker.ref.consumerId, batches: (holder?.batches ?? 0) + 1 })
      if (!replaying) this.readPosition = batch.index + 1
      progress = true
    }
    for (const [consumer, entries] of out) this.deliver(consumer.ref, entries)
    return progress
  }
}
