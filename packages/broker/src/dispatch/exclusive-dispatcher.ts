// Consumer dispatch for an Exclusive subscription on the partition leader (DESIGN.md §6).
// The lifecycle (no consumer / active consumer / closed) is the xstate machine in
// subscription-lifecycle.ts; the hot path is plain code: it reads committed batches from the
// partition (cache, then log), delivers whole batches while the consumer has flow permits,
// tracks what is unacknowledged, redelivers it when asked or when the consumer goes away, and
// proposes the cursor through Raft in batches, so a new leader resumes from the replicated
// cursor. Delivery is at-least-once.
import { timerApi, type Env, type TimerHandle } from '@blazar/env'
import {
  ConsumerBusyError, DEFAULT_MAX_MESSAGE_SIZE, MAX_PERSISTED_ACK_RANGES, type CursorEntry, type DeliveredEntry, type MessageIdData
} from '@blazar/protocol'
import { createActor, type Actor } from 'xstate'
import type { StoredBatch } from '../partition/message-cache.ts'
import type { ReadLimits } from '../partition/partition-state-machine.ts'
import { SubscriptionCursor, type CursorState } from '../partition/subscription-cursor.ts'
import { subscriptionLifecycle, type ConsumerRef, type SubscriptionLifecycleState } from './subscription-lifecycle.ts'
import { UnackedEntries } from './unacked-entries.ts'

/** What the dispatcher needs from the partition (PartitionStateMachine provides all of it). */
export interface DispatchSource {
  read (from: number, limits: ReadLimits): Promise<StoredBatch[]>
  nextMessageIndex (index: number): number
  onCommit (listener: (batch: StoredBatch) => void): () => void
}

export interface DispatchLimits {
  /** Batches per read (Pulsar `dispatcherMaxReadBatchSize` = 100). */
  readBatchEntries: number
  /** Bytes per read. */
  readBatchBytes: number
  /** Messages delivered and not yet acknowledged before dispatch pauses (Pulsar's 50,000 per consumer). */
  maxUnackedMessages: number
  /** Acknowledgements are proposed at most this long after they arrive. */
  cursorFlushIntervalMs: number
  /** ...or as soon as this many acknowledged batches are waiting. */
  cursorFlushMaxAcks: number
  /** Wait before retrying a failed read or cursor proposal. */
  retryDelayMs: number
}

export const DEFAULT_DISPATCH_LIMITS: DispatchLimits = {
  readBatchEntries: 100,
  readBatchBytes: DEFAULT_MAX_MESSAGE_SIZE,
  maxUnackedMessages: 50_000,
  cursorFlushIntervalMs: 100,
  cursorFlushMaxAcks: 1_000,
  retryDelayMs: 100
}

export interface ExclusiveDispatcherOptions {
  env: Env
  topic: string
  partition: number
  /** The replicated cursor as of taking over (from PartitionStateMachine.cursor). */
  cursor: CursorState
  source: DispatchSource
  /** Sends committed batches to the consumer (server push `messages`). */
  deliver: (consumer: ConsumerRef, entries: DeliveredEntry[]) => void
  /** Proposes a `cursor` entry through the partition's Raft group; resolves once applied. */
  proposeCursor: (update: CursorEntry) => Promise<void>
  limits?: Partial<DispatchLimits>
}

export class ExclusiveDispatcher {
  readonly topic: string
  readonly subscription: string
  private readonly env: Env
  private readonly partition: number
  private readonly source: DispatchSource
  private readonly deliver: ExclusiveDispatcherOptions['deliver']
  private readonly proposeCursor: ExclusiveDispatcherOptions['proposeCursor']
  private readonly limits: DispatchLimits
  private readonly actor: Actor<typeof subscriptionLifecycle>
  private readonly unsubscribeCommits: () => void

  /** Acknowledgements as known here: the replicated cursor plus those not yet proposed. */
  private cursor: SubscriptionCursor
  private readonly unacked = new UnackedEntries()
  /** Next index to read; every message entry below it was delivered or is acknowledged. */
  private readPosition: number
  private permits = 0
  private reading = false
  /** Bumped by every rewind and close: a read that started before is discarded. */
  private readEpoch = 0
  /** A batch was committed while a read was in flight: read again after it. */
  private committedDuringRead = false
  private retryTimer: TimerHandle | null = null

  private ackedSinceFlush = 0
  private flushTimer: TimerHandle | null = null
  private flushing = false
  private lastProposed = ''

  constructor (options: ExclusiveDispatcherOptions) {
    this.env = options.env
    this.topic = options.topic
    this.partition = options.partition
    this.subscription = options.cursor.subscription
    this.source = options.source
    this.deliver = options.deliver
    this.proposeCursor = options.proposeCursor
    this.limits = { ...DEFAULT_DISPATCH_LIMITS, ...options.limits }
    this.cursor = new SubscriptionCursor(options.cursor)
    this.readPosition = this.cursor.markDelete + 1
    this.lastProposed = JSON.stringify(this.cursorUpdate())
    const machine = subscriptionLifecycle.provide({
      actions: {
        consumerActivated: () => this.pump(),
        consumerLost: () => this.rewind(),
        stopped: () => this.stop()
      }
    })
    this.actor = createActor(machine, { clock: timerApi(this.env.clock) })
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
    return this.actor.getSnapshot().context.consumer
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
    this.permits = 0
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
      if (id.partition !== this.partition) continue
      if (this.unacked.ackMessage(id.index, id.batchIndex)) this.batchAcked(id.index)
    }
    this.cursor.normalize((index) => this.source.nextMessageIndex(index))
    this.scheduleFlush()
  }

  /** Cumulative ack: everything up to and including `id`. */
  acknowledgeCumulative (consumerId: number, id: MessageIdData): void {
    if (!this.isActive(consumerId) || id.partition !== this.partition) return
    const complete = this.unacked.ackUpTo(id.index, id.batchIndex)
    // Never past what was delivered: an ID the consumer cannot have received acks nothing more.
    const upTo = Math.min(complete ? id.index : id.index - 1, this.readPosition - 1)
    if (upTo > this.cursor.markDelete) {
      for (const index of this.unacked.indexes()) if (index <= upTo) this.unacked.remove(index)
      this.cursor.markDelete = upTo
      this.ackedSinceFlush++
    }
    if (complete) this.batchAcked(id.index)
    this.cursor.normalize((index) => this.source.nextMessageIndex(index))
    this.scheduleFlush()
  }

  /** REDELIVER (also negative acks on Exclusive): everything unacknowledged is sent again. */
  redeliverUnacknowledged (consumerId: number): void {
    if (!this.isActive(consumerId)) return
    this.rewind()
    this.pump()
  }

  /** After a `reset` subscription entry was applied: continue from the reset cursor. */
  cursorReset (cursor: CursorState): void {
    this.cursor = new SubscriptionCursor(cursor)
    this.lastProposed = JSON.stringify(this.cursorUpdate())
    this.ackedSinceFlush = 0
    this.rewind()
    this.pump()
  }

  /** The cursor update this dispatcher would propose now. */
  cursorUpdate (): CursorEntry {
    return {
      subscription: this.subscription,
      generation: this.cursor.generation,
      markDelete: this.cursor.markDelete,
      ackedRanges: this.cursor.acked.toArray().slice(0, MAX_PERSISTED_ACK_RANGES)
    }
  }

  /** Proposes the cursor now if it changed since the last proposal. */
  async flush (): Promise<void> {
    if (this.flushTimer !== null) {
      this.env.clock.clearTimer(this.flushTimer)
      this.flushTimer = null
    }
    const update = this.cursorUpdate()
    const key = JSON.stringify(update)
    if (this.flushing || key === this.lastProposed) return
    this.flushing = true
    this.ackedSinceFlush = 0
    try {
      await this.proposeCursor(update)
      this.lastProposed = key
    } catch (error) {
      this.env.logger.warn('cursor proposal failed; will retry', { topic: this.topic, subscription: this.subscription, error: String(error) })
      this.ackedSinceFlush++
    } finally {
      this.flushing = false
    }
    if (this.state !== 'closed' && JSON.stringify(this.cursorUpdate()) !== this.lastProposed) this.scheduleFlush()
  }

  // ---- internals -----------------------------------------------------------------------

  private isActive (consumerId: number): boolean {
    return this.state === 'activeConsumer' && this.consumer?.consumerId === consumerId
  }

  private batchAcked (index: number): void {
    if (index > this.cursor.markDelete) this.cursor.acked.add(index, index)
    this.ackedSinceFlush++
  }

  private scheduleFlush (): void {
    if (this.state === 'closed' || this.flushTimer !== null) return
    if (this.ackedSinceFlush >= this.limits.cursorFlushMaxAcks) {
      void this.flush()
      return
    }
    this.flushTimer = this.env.clock.setTimer(this.limits.cursorFlushIntervalMs, () => {
      this.flushTimer = null
      void this.flush()
    })
  }

  /** Puts every unacknowledged batch back to be read and delivered again. */
  private rewind (): void {
    this.unacked.rewind()
    this.readPosition = this.cursor.markDelete + 1
    this.readEpoch++
    this.reading = false
  }

  private stop (): void {
    this.readEpoch++
    this.unsubscribeCommits()
    for (const timer of [this.flushTimer, this.retryTimer]) if (timer !== null) this.env.clock.clearTimer(timer)
    this.flushTimer = null
    this.retryTimer = null
  }

  /** Reads and delivers while the consumer has permits and the unacked bound allows. */
  private pump (): void {
    if (this.state !== 'activeConsumer' || this.reading || this.retryTimer !== null) return
    if (this.permits <= 0 || this.unacked.messageCount >= this.limits.maxUnackedMessages) return
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
      if (this.cursor.isAcked(batch.index)) {
        this.readPosition = batch.index + 1
        continue
      }
      if (this.permits <= 0 || this.unacked.messageCount >= this.limits.maxUnackedMessages) break
      out.push({
        messageId: { partition: this.partition, index: batch.index, batchIndex: 0 },
        redeliveryCount: this.unacked.redeliveryCount(batch.index),
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
