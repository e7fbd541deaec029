// One partition as hosted on one node: its state machine plus, while this node leads the
// partition's Raft group, the leader-side services: the send path, subscriptions and their
// dispatchers (created from the replicated cursor, closed when leadership goes), seeks, and
// periodic retention trims. The host (node process or simulator) wires it to a RaftNode: it
// passes `propose` and `leader`, and calls `leadershipChanged` from the Raft observer.
import type { Env, NodeId, TimerHandle } from '@blazar/env'
import {
  ConsumerBusyError, ConsumerClosedError, NotLeaderError, SubscriptionAlreadyExistsError, UnknownSubscriptionError, UnsupportedOperationError, encodePartitionEntry, errorFromWire, validateEntityName,
  type ClientResult, type CursorEntry, type CursorPosition, type DeliveredEntry, type InitialPosition, type MessageIdData,
  type PartitionEntry, type SubscriptionMove, type SubscriptionType
} from '@blazar/protocol'
import type { ConsumerDispatchStats } from '../dispatch/consumer-stats.ts'
import type { DispatchLimits } from '../dispatch/dispatch-options.ts'
import { KeySharedDispatcher } from '../dispatch/key-shared-dispatcher.ts'
import { SharedDispatcher } from '../dispatch/shared-dispatcher.ts'
import { ExclusiveDispatcher, FailoverDispatcher } from '../dispatch/single-active-dispatcher.ts'
import type { ConsumerRef } from '../dispatch/subscription-lifecycle.ts'
import { cursorMoveTarget } from './cursor-moves.ts'
import type { StoredBatch } from './message-cache.ts'
import type { PartitionOutcome } from './outcomes.ts'
import type { PartitionStateMachine } from './partition-state-machine.ts'
import { admitBatch, proposalError, sendResultOf } from './produce.ts'

/** Pulsar `retentionCheckIntervalInSeconds` (120 s). */
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 120_000

type Dispatcher = ExclusiveDispatcher | FailoverDispatcher | SharedDispatcher | KeySharedDispatcher

export interface PartitionReplicaOptions {
  env: Env
  sm: PartitionStateMachine
  /** RaftNode.propose of this partition's group. */
  propose: (data: Uint8Array, kind: number) => Promise<number>
  /**
   * RaftNode.readIndex: resolves once this replica has applied everything committed. Awaited
   * before a dispatcher opens, so it starts from the latest replicated cursor (without it a new
   * leader may redeliver messages whose acknowledgement it has not applied yet).
   */
  readIndex?: () => Promise<void>
  /** The group's current leader as Raft knows it (RaftNode.status().leader). */
  leader: () => NodeId | null
  /** This node's id. */
  self: NodeId
  deliver: (consumer: ConsumerRef, entries: DeliveredEntry[]) => void
  /** The broker closed a consumer (leadership moved, subscription deleted): the client subscribes again. */
  consumerClosed: (consumer: ConsumerRef, reason: string) => void
  dispatchLimits?: Partial<DispatchLimits>
  retentionCheckIntervalMs?: number
}

export interface SubscribeRequest {
  subscription: string
  type: SubscriptionType
  initialPosition: InitialPosition
  consumer: ConsumerRef
}

export class PartitionReplica {
  private readonly options: PartitionReplicaOptions
  private readonly sm: PartitionStateMachine
  private readonly dispatchers = new Map<string, Dispatcher>()
  /** consumerId → its subscription, for the consumer's later requests. */
  private readonly consumers = new Map<number, { subscription: string, consumer: ConsumerRef }>()
  /**
   * Subscribes still waiting (read barrier, subscription entry), by consumerId: a consumer
   * closed meanwhile must not be attached when its subscribe resumes, or it would hold an
   * Exclusive subscription forever with nobody behind it.
   */
  private readonly pendingSubscribes = new Map<number, { cancelled: boolean }>()
  private leading = false
  private retentionTimer: TimerHandle | null = null

  constructor (options: PartitionReplicaOptions) {
    this.options = options
    this.sm = options.sm
  }

  get topic (): string {
    return this.sm.topic
  }

  get isLeading (): boolean {
    return this.leading
  }

  /** Call on every Raft role change of this group. */
  leadershipChanged (leading: boolean): void {
    if (leading === this.leading) return
    this.leading = leading
    if (leading) {
      this.scheduleRetention()
      return
    }
    if (this.retentionTimer !== null) this.options.env.clock.clearTimer(this.retentionTimer)
    this.retentionTimer = null
    for (const subscription of [...this.dispatchers.keys()]) this.closeDispatcher(subscription, 'leadership moved')
  }

  /** Stores a producer batch; resolves once committed and applied here. */
  async send (batch: unknown): Promise<ClientResult<'send'>> {
    this.requireLeader()
    const entry = admitBatch(batch, this.sm.partitionConfig, this.options.env.clock.now())
    const outcome = await this.propose(entry)
    return sendResultOf(outcome, this.sm.partition, { firstSequenceId: entry.body.firstSequenceId, lastSequenceId: entry.body.lastSequenceId })
  }

  /** The last sequence id stored for a producer (-1 if none): what `create-producer` answers. */
  lastSequenceId (producerName: string): number {
    return this.sm.lastSequenceId(producerName)
  }

  /** Creates the subscription if needed (a replicated entry), then attaches the consumer. */
  async subscribe (request: SubscribeRequest): Promise<void> {
    this.requireLeader()
    validateEntityName('subscription', request.subscription)
    const consumerId = request.consumer.consumerId
    const pending = { cancelled: false }
    this.pendingSubscribes.set(consumerId, pending)
    try {
      await this.prepareSubscription(request)
      if (pending.cancelled) throw new ConsumerClosedError({ topic: this.topic, subscription: request.subscription }, 'the consumer was closed while subscribing')
      this.attach(request)
    } finally {
      if (this.pendingSubscribes.get(consumerId) === pending) this.pendingSubscribes.delete(consumerId)
    }
  }

  flow (consumerId: number, permits: number): void {
    this.dispatcherOf(consumerId)?.flow(consumerId, permits)
  }

  acknowledge (consumerId: number, ackType: 'Individual' | 'Cumulative', ids: readonly MessageIdData[]): void {
    const dispatcher = this.dispatcherOf(consumerId)
    if (dispatcher === undefined) return
    if (ackType === 'Individual') dispatcher.acknowledge(consumerId, ids)
    else for (const id of ids) dispatcher.acknowledgeCumulative(consumerId, id)
  }

  redeliver (consumerId: number, ids?: readonly MessageIdData[]): void {
    const dispatcher = this.dispatcherOf(consumerId)
    if (dispatcher instanceof SharedDispatcher || dispatcher instanceof KeySharedDispatcher) dispatcher.redeliverUnacknowledged(consumerId, ids)
    else dispatcher?.redeliverUnacknowledged(consumerId)
  }

  /** The consumer went away (closed, or its connection dropped); a subscribe of it still pending is cancelled. */
  closeConsumer (consumerId: number): void {
    const pending = this.pendingSubscribes.get(consumerId)
    if (pending !== undefined) pending.cancelled = true
    this.dispatcherOf(consumerId)?.detach(consumerId)
    this.consumers.delete(consumerId)
  }

  /** Moves the subscription's cursor (a replicated reset) and redelivers from there. */
  async seek (consumerId: number, position: CursorPosition): Promise<void> {
    this.requireLeader()
    const subscription = this.requireSubscriptionOf(consumerId)
    await this.propose({ kind: 'subscription', body: { op: 'reset', subscription, position } })
    const cursor = this.sm.cursor(subscription)
    if (cursor !== undefined) this.dispatchers.get(subscription)?.cursorReset(cursor)
  }

  /** Deletes the subscription (a replicated entry); its consumers are closed. */
  async unsubscribe (consumerId: number): Promise<void> {
    this.requireLeader()
    const subscription = this.requireSubscriptionOf(consumerId)
    await this.propose({ kind: 'subscription', body: { op: 'delete', subscription } })
    this.closeDispatcher(subscription, 'unsubscribed')
  }

  // ---- admin (Pulsar's subscription REST operations) -----------------------------------

  /** Creates a subscription with no consumer, its cursor at `position` (Pulsar PUT .../subscription/{sub}). */
  async createSubscription (subscription: string, position: CursorPosition): Promise<void> {
    this.requireLeader()
    validateEntityName('subscription', subscription)
    if (this.sm.cursor(subscription) !== undefined) throw new SubscriptionAlreadyExistsError({ topic: this.topic, subscription })
    const initialPosition = position.at === 'earliest' ? 'Earliest' : 'Latest'
    await this.propose({ kind: 'subscription', body: { op: 'create', subscription, type: 'Exclusive', initialPosition } })
    if (position.at === 'message' || position.at === 'publishTime') {
      await this.propose({ kind: 'subscription', body: { op: 'reset', subscription, position } })
    }
  }

  /** Deletes a subscription; one with consumers connected only when `force` (they are closed). */
  async deleteSubscription (subscription: string, force: boolean): Promise<void> {
    this.requireLeader()
    if (this.sm.cursor(subscription) === undefined) throw new UnknownSubscriptionError({ topic: this.topic, subscription })
    const connected = this.dispatchers.get(subscription)?.consumerStats().length ?? 0
    if (connected > 0 && !force) throw new ConsumerBusyError({ topic: this.topic, subscription }, `subscription ${subscription} has ${connected} connected consumer(s)`)
    await this.propose({ kind: 'subscription', body: { op: 'delete', subscription } })
    this.closeDispatcher(subscription, 'subscription deleted')
  }

  /** Moves a subscription's cursor (skip, skip all, expire, reset); its dispatcher redelivers from there. Answers the new mark-delete. */
  async moveSubscription (subscription: string, move: SubscriptionMove): Promise<number> {
    this.requireLeader()
    if (this.sm.cursor(subscription) === undefined) throw new UnknownSubscriptionError({ topic: this.topic, subscription })
    const position = cursorMoveTarget(this.sm, subscription, move, this.options.env.clock.now())
    if (position !== null) {
      await this.propose({ kind: 'subscription', body: { op: 'reset', subscription, position } })
      const cursor = this.sm.cursor(subscription)
      if (cursor !== undefined) this.dispatchers.get(subscription)?.cursorReset(cursor)
    }
    return this.sm.cursor(subscription)?.markDelete ?? 0
  }

  /**
   * The `position`-th (1-based) unacknowledged message of a subscription: its batch and the
   * message's place in it; undefined when the backlog is shorter.
   */
  async peek (subscription: string, position: number): Promise<{ batch: StoredBatch, batchIndex: number } | undefined> {
    this.requireLeader()
    let before = 0
    for (const retained of this.sm.unackedBatches(subscription, position)) {
      if (before + retained.messageCount >= position) {
        const [batch] = await this.sm.read(retained.index, { maxEntries: 1, maxBytes: 1 })
        if (batch?.index !== retained.index) return undefined
        return { batch, batchIndex: position - before - 1 }
      }
      before += retained.messageCount
    }
    return undefined
  }

  /** Every consumer attached here (this node leads), by subscription. */
  consumerStats (): Array<{ subscription: string, consumers: ConsumerDispatchStats[] }> {
    return [...this.dispatchers].map(([subscription, dispatcher]) => ({ subscription, consumers: dispatcher.consumerStats() }))
  }

  /** Proposes a retention trim now if retention allows dropping anything. */
  async enforceRetention (): Promise<void> {
    if (!this.leading) return
    const upTo = this.sm.retentionTrimPoint(this.options.env.clock.now())
    if (upTo >= this.sm.firstRetainedIndex) await this.propose({ kind: 'trim', body: { upTo } })
  }

  /** Stops everything (the node shuts down or stops hosting the partition). */
  close (): void {
    this.leadershipChanged(false)
  }

  // ---- internals -----------------------------------------------------------------------

  /** The read barrier before a dispatcher opens, and the subscription's creation if needed. */
  private async prepareSubscription (request: SubscribeRequest): Promise<void> {
    if (!this.dispatchers.has(request.subscription) && this.options.readIndex !== undefined) {
      try {
        await this.options.readIndex()
      } catch (error) {
        throw proposalError(error, this.topic)
      }
      this.requireLeader()
    }
    if (this.sm.cursor(request.subscription) === undefined) {
      await this.propose({ kind: 'subscription', body: { op: 'create', subscription: request.subscription, type: request.type, initialPosition: request.initialPosition } })
      this.requireLeader()
    }
  }

  private attach (request: SubscribeRequest): void {
    const existing = this.dispatchers.get(request.subscription)
    if (existing !== undefined && existing.state === 'consuming' && dispatcherType(existing) !== request.type) {
      throw new UnsupportedOperationError({ operation: 'subscribe', reason: `subscription ${request.subscription} is ${dispatcherType(existing)} with consumers connected` })
    }
    if (existing !== undefined && dispatcherType(existing) !== request.type) this.closeDispatcher(request.subscription, 'subscription type changed')
    const dispatcher = this.dispatchers.get(request.subscription) ?? this.openDispatcher(request.subscription, request.type)
    dispatcher.attach(request.consumer)
    this.consumers.set(request.consumer.consumerId, { subscription: request.subscription, consumer: request.consumer })
  }

  private requireLeader (): void {
    if (this.leading) return
    const leader = this.options.leader()
    throw new NotLeaderError({ group: this.topic, leaderHint: leader === this.options.self ? null : leader })
  }

  private async propose (entry: PartitionEntry): Promise<PartitionOutcome | undefined> {
    const { kind, data } = encodePartitionEntry(entry)
    let index: number
    try {
      index = await this.options.propose(data, kind)
    } catch (error) {
      throw proposalError(error, this.topic)
    }
    const outcome = this.sm.outcome(index)
    if (outcome?.kind === 'rejected' && entry.kind !== 'batch') throw errorFromWire(outcome.error)
    return outcome
  }

  private dispatcherOf (consumerId: number): Dispatcher | undefined {
    const entry = this.consumers.get(consumerId)
    return entry === undefined ? undefined : this.dispatchers.get(entry.subscription)
  }

  private requireSubscriptionOf (consumerId: number): string {
    const entry = this.consumers.get(consumerId)
    if (entry === undefined) throw new UnknownSubscriptionError({ topic: this.topic, subscription: `of consumer ${consumerId}` })
    return entry.subscription
  }

  private openDispatcher (subscription: string, type: SubscriptionType): Dispatcher {
    const options = {
      env: this.options.env,
      topic: this.topic,
      partition: this.sm.partition,
      cursor: this.sm.cursor(subscription)!,
      source: this.sm,
      deliver: this.options.deliver,
      proposeCursor: async (update: CursorEntry) => {
        await this.propose({ kind: 'cursor', body: update })
      },
      limits: this.options.dispatchLimits
    }
    const dispatcher: Dispatcher = type === 'Exclusive'
      ? new ExclusiveDispatcher(options)
      : type === 'Failover'
        ? new FailoverDispatcher(options)
        : type === 'Shared' ? new SharedDispatcher(options) : new KeySharedDispatcher(options)
    this.dispatchers.set(subscription, dispatcher)
    return dispatcher
  }

  private closeDispatcher (subscription: string, reason: string): void {
    const dispatcher = this.dispatchers.get(subscription)
    if (dispatcher === undefined) return
    this.dispatchers.delete(subscription)
    dispatcher.close(reason)
    for (const [consumerId, entry] of [...this.consumers]) {
      if (entry.subscription !== subscription) continue
      this.consumers.delete(consumerId)
      this.options.consumerClosed(entry.consumer, reason)
    }
  }

  private scheduleRetention (): void {
    const interval = this.options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS
    this.retentionTimer = this.options.env.clock.setTimer(interval, () => {
      this.retentionTimer = null
      if (!this.leading) return
      this.enforceRetention().then(
        () => { if (this.leading) this.scheduleRetention() },
        (error: unknown) => {
          this.options.env.logger.warn('retention trim failed', { topic: this.topic, error: String(error) })
          if (this.leading) this.scheduleRetention()
        }
      )
    })
  }
}

function dispatcherType (dispatcher: Dispatcher): SubscriptionType {
  if (dispatcher instanceof ExclusiveDispatcher) return 'Exclusive'
  if (dispatcher instanceof FailoverDispatcher) return 'Failover'
  if (dispatcher instanceof SharedDispatcher) return 'Shared'
  return 'Key_Shared'
}
