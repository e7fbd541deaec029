// One partition as hosted on one node: its state machine plus, while this node leads the
// partition's Raft group, the leader-side services: the send path (with backlog quota
// admission: refused or held sends), subscriptions and their dispatchers (created from the
// replicated cursor, closed when leadership goes), seeks, and the periodic policy checks
// (retention trims, message TTL, backlog quota eviction, the compaction threshold), each a
// replicated entry; topic compaction (a replicated horizon, the view built here) and
// readCompacted subscriptions; dead letters (a replicated `deadLetter` entry acknowledges and
// queues them in the outbox, the leader's DeadLetterForwarder publishes them through the
// host's DeadLetterSink). The host (node process or simulator) wires it to a RaftNode: it
// passes `propose` and `leader`, and calls `leadershipChanged` from the Raft observer.
import type { Env, NodeId, TimerHandle } from '@blazar/env'
import {
  CompressionCodecs, ConsumerBusyError, defaultDeadLetterTopic, parseTopicName, ConsumerClosedError, LimitExceededError, NotLeaderError, ProducerBlockedQuotaExceededError, SubscriptionAlreadyExistsError, UnknownSubscriptionError, UnsupportedOperationError, encodePartitionEntry, errorFromWire, validateEntityName,
  type BlazarError, type ClientResult, type CursorEntry, type CursorPosition, type DeliveredEntry, type InitialPosition, type MessageIdData,
  type PartitionEntry, type SubscriptionMove, type SubscriptionType
} from '@blazar/protocol'
import { DEFAULT_DISPATCH_LIMITS, type DispatchLimits, type DispatchSource } from '../dispatch/dispatch-options.ts'
import { createDispatcher } from '../dispatch/create-dispatcher.ts'
import type { ConsumerDispatchStats, DispatchStats, SubscriptionDispatcher } from '../dispatch/subscription-dispatcher.ts'
import type { ConsumerRef } from '../dispatch/subscription-lifecycle.ts'
import { compactedSource } from './compacted-source.ts'
import { DeadLetterForwarder, type DeadLetterForwarderLimits, type DeadLetterSink } from './dead-letter-forwarder.ts'
import { Compactor, type CompactionStatus } from './compactor.ts'
import { backlogUsage, evictionAdvances, exceededQuotas, expiryAdvances, type CursorAdvance, type ExceededQuota } from './backlog-policies.ts'
import { cursorMoveTarget } from './cursor-moves.ts'
import { DEFAULT_BACKLOG_QUOTA_HOLD_MS, HeldSends } from './held-sends.ts'
import type { StoredBatch } from './message-cache.ts'
import type { PartitionOutcome } from './outcomes.ts'
import type { PartitionStateMachine } from './partition-state-machine.ts'
import type { CursorState } from './subscription-cursor.ts'
import { admitBatch, proposalError, sendResultOf } from './produce.ts'

/** Pulsar `retentionCheckIntervalInSeconds` (120 s). */
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 120_000
/** Pulsar `messageExpiryCheckIntervalInMinutes` (5 min): how often message TTL is applied. */
export const DEFAULT_MESSAGE_EXPIRY_CHECK_INTERVAL_MS = 300_000
/** Pulsar `backlogQuotaCheckIntervalInSeconds` (60 s): how often consumer_backlog_eviction runs. */
export const DEFAULT_BACKLOG_QUOTA_CHECK_INTERVAL_MS = 60_000
/** Pulsar `brokerServiceCompactionMonitorIntervalInSeconds` (60 s): how often the compactionThreshold is checked. */
export const DEFAULT_COMPACTION_CHECK_INTERVAL_MS = 60_000

type Dispatcher = SubscriptionDispatcher

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
  /** The leader's periodic policy checks (defaults Pulsar's, the DEFAULT_*_INTERVAL_MS constants). */
  retentionCheckIntervalMs?: number
  messageExpiryCheckIntervalMs?: number
  backlogQuotaCheckIntervalMs?: number
  compactionCheckIntervalMs?: number
  /**
   * The host's compression codecs, to read the keys inside compressed batches when compacting
   * (default: none, so compressed batches are left out of the compacted view).
   */
  codecs?: CompressionCodecs
  /** How long a send waits under a producer_request_hold quota (DEFAULT_BACKLOG_QUOTA_HOLD_MS). */
  backlogQuotaHoldMs?: number
  /**
   * Where the leader forwards dead letters (`deadLetter`); without it the partition takes no
   * dead-letter requests (UNSUPPORTED_OPERATION) and clients dead-letter themselves.
   */
  deadLetterSink?: DeadLetterSink
  deadLetterLimits?: Partial<DeadLetterForwarderLimits>
}

export interface SubscribeRequest {
  subscription: string
  type: SubscriptionType
  initialPosition: InitialPosition
  consumer: ConsumerRef
  /**
   * false: a reader's subscription (Pulsar's non-durable cursor): it lives in this leader's
   * memory only, proposes nothing to the log, does not hold back retention, and ends with its
   * last consumer (or a leader change: the reader subscribes again from where it was).
   */
  durable?: boolean
  /** Non-durable only: the first message (or the one before it, not inclusive); else `initialPosition`. */
  startMessageId?: MessageIdData
  startMessageIdInclusive?: boolean
  /**
   * Pulsar readCompacted: read the compacted view up to its horizon, then the log. Only for
   * readers and Exclusive or Failover subscriptions (else UNSUPPORTED_OPERATION). The consumer
   * that opens the subscription's dispatcher decides it for the consumers that join it.
   */
  readCompacted?: boolean
}

export class PartitionReplica {
  private readonly options: PartitionReplicaOptions
  private readonly sm: PartitionStateMachine
  private readonly dispatchers = new Map<string, Dispatcher>()
  /** The subscriptions in `dispatchers` that are non-durable (readers): no cursor in the log. */
  private readonly nonDurable = new Set<string>()
  /** The subscriptions in `dispatchers` that read compacted. */
  private readonly readingCompacted = new Set<string>()
  /** consumerId → its subscription, for the consumer's later requests. */
  private readonly consumers = new Map<number, { subscription: string, consumer: ConsumerRef }>()
  /**
   * Subscribes still waiting (read barrier, subscription entry), by consumerId: a consumer
   * closed meanwhile must not be attached when its subscribe resumes, or it would hold an
   * Exclusive subscription forever with nobody behind it.
   */
  private readonly pendingSubscribes = new Map<number, { cancelled: boolean }>()
  private leading = false
  private readonly checks: Array<{ name: string, intervalMs: number, run: () => Promise<void>, timer: TimerHandle | null }>
  private readonly held: HeldSends
  private readonly compactor: Compactor
  private readonly forwarder: DeadLetterForwarder | null

  constructor (options: PartitionReplicaOptions) {
    this.options = options
    this.sm = options.sm
    this.checks = [
      { name: 'retention trim', intervalMs: options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS, run: async () => { await this.enforceRetention() }, timer: null },
      { name: 'message expiry', intervalMs: options.messageExpiryCheckIntervalMs ?? DEFAULT_MESSAGE_EXPIRY_CHECK_INTERVAL_MS, run: async () => { await this.expireMessages() }, timer: null },
      { name: 'backlog quota', intervalMs: options.backlogQuotaCheckIntervalMs ?? DEFAULT_BACKLOG_QUOTA_CHECK_INTERVAL_MS, run: async () => { await this.enforceBacklogQuotas() }, timer: null },
      { name: 'compaction threshold', intervalMs: options.compactionCheckIntervalMs ?? DEFAULT_COMPACTION_CHECK_INTERVAL_MS, run: async () => { await this.checkCompactionThreshold() }, timer: null }
    ]
    this.compactor = new Compactor({ sm: this.sm, codecs: options.codecs ?? new CompressionCodecs(), logger: options.env.logger, isLeading: () => this.leading })
    this.forwarder = options.deadLetterSink === undefined
      ? null
      : new DeadLetterForwarder({
        env: options.env, sm: this.sm, sink: options.deadLetterSink, codecs: options.codecs ?? new CompressionCodecs(),
        propose: (entry) => this.propose(entry), ...(options.deadLetterLimits === undefined ? {} : { limits: options.deadLetterLimits })
      })
    this.held = new HeldSends(options.env.clock, this.sm.topic, options.backlogQuotaHoldMs ?? DEFAULT_BACKLOG_QUOTA_HOLD_MS)
    // Acknowledgements, deleted subscriptions and new quotas may bring the backlog under a hold quota.
    this.sm.onBacklogChange(() => { if (this.held.size > 0) this.releaseHeldSends() })
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
      for (const check of this.checks) this.scheduleCheck(check)
      if (this.sm.compactionHorizon > 0) this.buildCompactedView()
      this.forwarder?.start()
      return
    }
    this.forwarder?.stop()
    this.compactor.release()
    for (const check of this.checks) {
      if (check.timer !== null) this.options.env.clock.clearTimer(check.timer)
      check.timer = null
    }
    this.held.rejectAll(this.notLeader())
    for (const subscription of [...this.dispatchers.keys()]) this.closeDispatcher(subscription, 'leadership moved')
  }

  /**
   * Stores a producer batch; resolves once committed and applied here. With `previousSequenceId`
   * the batch is refused (OUT_OF_ORDER_SEQUENCE) unless that sequence id is stored before it.
   * Over a backlog quota it is refused (producer_exception) or held until the backlog is back
   * under it (producer_request_hold, at most the hold time).
   */
  async send (batch: unknown, previousSequenceId?: number): Promise<ClientResult<'send'>> {
    this.requireLeader()
    const now = this.options.env.clock.now()
    let entry = admitBatch(batch, this.sm.partitionConfig, now, previousSequenceId)
    if ((entry.body.deliverAtTime ?? 0) > now) this.admitDelayed()
    if (await this.admitQuota(entry.body.body.length)) {
      // Held: publish time is when it is stored, as for any send.
      this.requireLeader()
      entry = admitBatch(batch, this.sm.partitionConfig, this.options.env.clock.now(), previousSequenceId)
    }
    const outcome = await this.propose(entry)
    return sendResultOf(outcome, this.sm.partition, { firstSequenceId: entry.body.firstSequenceId, lastSequenceId: entry.body.lastSequenceId })
  }

  /** A producer may attach unless the backlog is over a producer_exception quota (then ProducerBlockedQuotaExceededError, as Pulsar). */
  admitProducer (): void {
    this.requireLeader()
    this.refuseOverExceptionQuota(this.exceededQuotas())
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
      const source = request.readCompacted === true && !this.dispatchers.has(request.subscription) ? await this.compactedSource() : undefined
      if (pending.cancelled) throw new ConsumerClosedError({ topic: this.topic, subscription: request.subscription }, 'the consumer was closed while subscribing')
      this.attach(request, source)
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

  /** Whether this partition takes `deadLetter` requests (its host gave it a dead-letter sink). */
  get forwardsDeadLetters (): boolean {
    return this.forwarder !== null
  }

  /**
   * The broker-side dead-letter path: the consumer's messages (batchIndex -1: the whole batch)
   * are acknowledged and queued for `deadLetterTopic` (default `<topic>-<subscription>-DLQ`)
   * in one replicated entry, then forwarded by the leader exactly once. Resolves with the
   * outbox positions given (none for messages already acknowledged, or a request made before a
   * seek). Durable subscriptions only; UNSUPPORTED_OPERATION without a sink.
   */
  async deadLetter (consumerId: number, ids: readonly MessageIdData[], deadLetterTopic?: string): Promise<{ positions: number[] }> {
    this.requireLeader()
    if (this.forwarder === null) throw new UnsupportedOperationError({ operation: 'dead-letter', reason: 'this broker forwards no dead letters' })
    const subscription = this.requireSubscriptionOf(consumerId)
    if (this.nonDurable.has(subscription)) throw new UnsupportedOperationError({ operation: 'dead-letter', reason: 'a reader has no durable cursor' })
    const topic = deadLetterTopic === undefined ? defaultDeadLetterTopic(this.topic, subscription) : parseTopicName(deadLetterTopic).full
    const generation = this.sm.cursor(subscription)?.generation ?? 0
    const outcome = await this.propose({ kind: 'deadLetter', body: { subscription, generation, deadLetterTopic: topic, messages: ids.map((id) => [id.index, id.batchIndex]) } })
    // Acknowledged in the log now: the dispatcher stops holding them (its next cursor entry adds nothing).
    const acked = ids.flatMap((id) => id.batchIndex >= 0
      ? [id]
      : Array.from({ length: this.sm.messageCountAt(id.index) ?? 0 }, (_, batchIndex) => ({ ...id, batchIndex })))
    this.dispatcherOf(consumerId)?.acknowledge(consumerId, acked)
    return { positions: outcome?.kind === 'dead-letter' ? outcome.positions : [] }
  }

  redeliver (consumerId: number, ids?: readonly MessageIdData[]): void {
    this.dispatcherOf(consumerId)?.redeliverUnacknowledged(consumerId, ids)
  }

  /** The consumer went away (closed, or its connection dropped); a subscribe of it still pending is cancelled. */
  closeConsumer (consumerId: number): void {
    const pending = this.pendingSubscribes.get(consumerId)
    if (pending !== undefined) pending.cancelled = true
    const entry = this.consumers.get(consumerId)
    this.dispatcherOf(consumerId)?.detach(consumerId)
    this.consumers.delete(consumerId)
    // A reader's subscription ends with its last consumer (Pulsar removes a non-durable cursor).
    if (entry !== undefined && this.nonDurable.has(entry.subscription) && this.dispatchers.get(entry.subscription)?.state === 'noConsumer') {
      this.closeDispatcher(entry.subscription, 'reader closed')
    }
  }

  /**
   * Moves the subscription's cursor and redelivers from there: a replicated reset, or for a
   * reader only the in-memory cursor (the same reset point, computed at the applied index).
   */
  async seek (consumerId: number, position: CursorPosition): Promise<void> {
    this.requireLeader()
    const subscription = this.requireSubscriptionOf(consumerId)
    if (this.nonDurable.has(subscription)) {
      const dispatcher = this.dispatchers.get(subscription)!
      dispatcher.cursorReset(this.readerCursor(subscription, dispatcher.type, position))
      return
    }
    await this.propose({ kind: 'subscription', body: { op: 'reset', subscription, position } })
    const cursor = this.sm.cursor(subscription)
    if (cursor !== undefined) this.dispatchers.get(subscription)?.cursorReset(cursor)
  }

  /** Deletes the subscription (a replicated entry; a reader's just ends); its consumers are closed. */
  async unsubscribe (consumerId: number): Promise<void> {
    this.requireLeader()
    const subscription = this.requireSubscriptionOf(consumerId)
    if (!this.nonDurable.has(subscription)) await this.propose({ kind: 'subscription', body: { op: 'delete', subscription } })
    this.closeDispatcher(subscription, 'unsubscribed')
  }

  /**
   * Pulsar GET_LAST_MESSAGE_ID: the partition's last committed message (the last message of
   * its last batch; (partition, 0, -1) when there is none; reading compacted with nothing after
   * the horizon, the last message the view keeps) and the consumer's subscription's
   * mark-delete position as the dispatcher knows it (acknowledgements not yet proposed included).
   */
  lastMessageId (consumerId: number): { lastMessageId: MessageIdData, markDeletePosition: MessageIdData } {
    this.requireLeader()
    const subscription = this.requireSubscriptionOf(consumerId)
    const last = this.sm.lastBatch
    const partition = this.sm.partition
    const markDelete = this.dispatchers.get(subscription)?.markDelete ?? this.sm.cursor(subscription)?.markDelete ?? 0
    // Read compacted with nothing after the horizon: the last message the view keeps (as Pulsar
    // answers from its compacted ledger), so a reader's hasMessageAvailable ends.
    const view = this.readingCompacted.has(subscription) ? this.compactor.ready() : null
    if (view !== null && last !== null && last.index <= view.horizon) {
      const kept = view.lastKept()
      return {
        lastMessageId: kept === null ? { partition, index: 0, batchIndex: -1 } : { partition, ...kept },
        markDeletePosition: { partition, index: markDelete, batchIndex: -1 }
      }
    }
    return {
      lastMessageId: last === null ? { partition, index: 0, batchIndex: -1 } : { partition, index: last.index, batchIndex: last.messageCount - 1 },
      markDeletePosition: { partition, index: markDelete, batchIndex: -1 }
    }
  }

  /**
   * Dispatch stats of a subscription on this leader: its dispatcher's, or, without one, why
   * nothing is dispatched (no consumers; on a follower, leadership is elsewhere or moving).
   */
  subscriptionStats (subscription: string): DispatchStats & { durable: boolean } {
    const dispatcher = this.dispatchers.get(subscription)
    if (dispatcher !== undefined) return { ...dispatcher.stats(), durable: !this.nonDurable.has(subscription) }
    const cursor = this.sm.cursor(subscription)
    const pendingMessages = cursor === undefined ? 0 : this.sm.backlog(subscription)
    return {
      type: cursor?.type ?? 'Exclusive',
      durable: true,
      reason: !this.leading ? 'LEADER_MOVING' : pendingMessages > 0 ? 'NO_CONSUMERS' : null,
      pendingMessages,
      redeliveryQueueMessages: 0,
      delayedMessages: 0,
      nextDelayedDeliveryAt: null,
      unackedMessages: 0,
      deliveredBatches: 0,
      oldestUnacked: null,
      consumers: []
    }
  }

  /** The backlog as quotas measure it now (from the slowest durable cursor): bytes and the oldest message's age. */
  backlogUsage (): { bytes: number, ageSeconds: number } {
    return backlogUsage(this.sm, this.options.env.clock.now())
  }

  /** Sends held now by a producer_request_hold backlog quota. */
  get heldSends (): number {
    return this.held.size
  }

  /** The readers (non-durable subscriptions) open on this leader. */
  readers (): string[] {
    return [...this.nonDurable]
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
    const connected = this.dispatchers.get(subscription)?.stats().consumers.length ?? 0
    if (connected > 0 && !force) throw new ConsumerBusyError({ topic: this.topic, subscription }, `subscription ${subscription} has ${connected} connected consumer(s)`)
    await this.propose({ kind: 'subscription', body: { op: 'delete', subscription } })
    this.closeDispatcher(subscription, 'subscription deleted')
  }

  /** Moves a subscription's cursor (skip, skip all, expire, reset); its dispatcher redelivers from there. Answers the new mark-delete. */
  async moveSubscription (subscription: string, move: SubscriptionMove): Promise<number> {
    this.requireLeader()
    if (this.sm.cursor(subscription) === undefined) throw new UnknownSubscriptionError({ topic: this.topic, subscription })
    if (move.to === 'expire') {
      // Pulsar's expireMessages moves mark-delete forward (as message TTL does): acknowledgements above it stay.
      await this.advanceCursors(expiryAdvances(this.sm, move.seconds, this.options.env.clock.now()).filter((advance) => advance.subscription === subscription))
      return this.sm.cursor(subscription)?.markDelete ?? 0
    }
    const position = cursorMoveTarget(this.sm, subscription, move)
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
    return [...this.dispatchers].map(([subscription, dispatcher]) => ({ subscription, consumers: dispatcher.stats().consumers }))
  }

  /**
   * Proposes a retention trim now if retention allows dropping anything; once compacted, never
   * below what the compacted view keeps (and nothing while the view cannot be built).
   */
  async enforceRetention (): Promise<void> {
    if (!this.leading) return
    const retention = this.sm.retentionTrimPoint(this.options.env.clock.now())
    if (retention < this.sm.firstRetainedIndex) return
    const bound = await this.compactor.trimBound()
    if (bound === null || !this.leading) return
    const upTo = bound === undefined ? retention : Math.min(retention, bound.upTo)
    if (upTo < this.sm.firstRetainedIndex) return
    await this.propose({ kind: 'trim', body: bound === undefined ? { upTo } : { upTo, compactionHorizon: bound.compactionHorizon } })
  }

  /**
   * Compacts the partition now (Pulsar's triggerCompaction): a replicated `compaction` entry
   * sets the horizon at its own index; this leader then builds the view (status: `compaction`).
   */
  async compact (): Promise<{ horizon: number }> {
    this.requireLeader()
    const outcome = await this.propose({ kind: 'compaction', body: {} })
    this.buildCompactedView()
    return { horizon: outcome?.kind === 'compaction' ? outcome.horizon : this.sm.compactionHorizon }
  }

  /** The compaction horizon and how far this leader has built the view (Pulsar's compaction status). */
  compaction (): CompactionStatus {
    this.requireLeader()
    return this.compactor.status()
  }

  /** Compacts when the bytes since the last compaction exceed the namespace's compactionThreshold (0 = off). */
  async checkCompactionThreshold (): Promise<void> {
    const threshold = this.sm.partitionConfig.compactionThreshold ?? 0
    if (!this.leading || threshold === 0 || this.sm.bytesSinceCompaction() <= threshold) return
    this.options.env.logger.info('compaction threshold exceeded: compacting', { topic: this.topic, bytes: this.sm.bytesSinceCompaction(), threshold })
    await this.compact()
  }

  /** Message TTL now: every subscription acknowledges the messages older than the TTL. */
  async expireMessages (): Promise<void> {
    const ttlSeconds = this.sm.partitionConfig.messageTTLSeconds ?? 0
    if (!this.leading || ttlSeconds === 0) return
    await this.advanceCursors(expiryAdvances(this.sm, ttlSeconds, this.options.env.clock.now()))
  }

  /** Backlog quotas now: consumer_backlog_eviction of each exceeded quota with that policy; held sends released if under. */
  async enforceBacklogQuotas (): Promise<void> {
    if (!this.leading) return
    for (const exceeded of this.exceededQuotas()) {
      if (exceeded.quota.policy !== 'consumer_backlog_eviction') continue
      this.options.env.logger.info('backlog quota exceeded: evicting the oldest backlog', { topic: this.topic, quota: exceeded.type, value: exceeded.value, limit: exceeded.limit })
      await this.advanceCursors(evictionAdvances(this.sm, exceeded, this.options.env.clock.now()))
    }
    this.releaseHeldSends()
  }

  /** Stops everything (the node shuts down or stops hosting the partition). */
  close (): void {
    this.leadershipChanged(false)
  }

  // ---- internals -----------------------------------------------------------------------

  /** The read barrier before a dispatcher opens, and the subscription's creation if needed (durable only). */
  private async prepareSubscription (request: SubscribeRequest): Promise<void> {
    if (!this.dispatchers.has(request.subscription) && this.options.readIndex !== undefined) {
      try {
        await this.options.readIndex()
      } catch (error) {
        throw proposalError(error, this.topic)
      }
      this.requireLeader()
    }
    const durable = request.durable ?? true
    if (request.readCompacted === true && durable && request.type !== 'Exclusive' && request.type !== 'Failover') {
      throw new UnsupportedOperationError({ operation: 'subscribe', reason: `readCompacted is only allowed on readers and Exclusive or Failover subscriptions, not ${request.type}` })
    }
    if (durable && this.nonDurable.has(request.subscription)) {
      throw new UnsupportedOperationError({ operation: 'subscribe', reason: `subscription ${request.subscription} is non-durable (a reader)` })
    }
    if (!durable && this.sm.cursor(request.subscription) !== undefined) {
      throw new UnsupportedOperationError({ operation: 'subscribe', reason: `subscription ${request.subscription} is durable` })
    }
    if (!durable) return
    if (this.sm.cursor(request.subscription) === undefined) {
      await this.propose({ kind: 'subscription', body: { op: 'create', subscription: request.subscription, type: request.type, initialPosition: request.initialPosition } })
      this.requireLeader()
    }
  }

  private attach (request: SubscribeRequest, source: DispatchSource | undefined): void {
    const existing = this.dispatchers.get(request.subscription)
    if (existing !== undefined && existing.state === 'consuming' && existing.type !== request.type) {
      throw new UnsupportedOperationError({ operation: 'subscribe', reason: `subscription ${request.subscription} is ${existing.type} with consumers connected` })
    }
    if (existing !== undefined && existing.type !== request.type) this.closeDispatcher(request.subscription, 'subscription type changed')
    const dispatcher = this.dispatchers.get(request.subscription) ?? this.openDispatcher(request.subscription, request.type, this.startCursor(request), source ?? this.sm)
    dispatcher.attach(request.consumer)
    this.consumers.set(request.consumer.consumerId, { subscription: request.subscription, consumer: request.consumer })
  }

  /** A delayed message is refused while some subscription's delayed index is at its bound (memory stays bounded). */
  private admitDelayed (): void {
    for (const [subscription, dispatcher] of this.dispatchers) {
      if (!dispatcher.delayedIndexFull) continue
      const max = { ...DEFAULT_DISPATCH_LIMITS, ...this.options.dispatchLimits }.maxDelayedMessages
      throw new LimitExceededError({ limit: `delayed messages waiting in subscription ${subscription}`, value: max + 1, max })
    }
  }

  private requireLeader (): void {
    if (!this.leading) throw this.notLeader()
  }

  private notLeader (): BlazarError {
    const leader = this.options.leader()
    return new NotLeaderError({ group: this.topic, leaderHint: leader === this.options.self ? null : leader })
  }

  private exceededQuotas (): ExceededQuota[] {
    return exceededQuotas(this.sm, this.sm.partitionConfig.backlogQuotas, this.options.env.clock.now())
  }

  /**
   * Backlog quota admission of a send of `bytes`: throws for an exceeded producer_exception
   * quota; waits while a producer_request_hold one is exceeded (or earlier sends are still
   * held, so order is kept). Returns whether the send was held.
   */
  private async admitQuota (bytes: number): Promise<boolean> {
    const exceeded = this.exceededQuotas()
    this.refuseOverExceptionQuota(exceeded)
    const holding = exceeded.find((quota) => quota.quota.policy === 'producer_request_hold')
    if (holding === undefined && this.held.size === 0) return false
    const held = this.held.hold(bytes, holding?.type)
    if (holding === undefined) this.releaseHeldSends()
    await held
    return true
  }

  private refuseOverExceptionQuota (exceeded: readonly ExceededQuota[]): void {
    const refusing = exceeded.find((quota) => quota.quota.policy === 'producer_exception')
    if (refusing !== undefined) throw new ProducerBlockedQuotaExceededError({ topic: this.topic, quota: refusing.type, value: refusing.value, limit: refusing.limit })
  }

  /** Releases the held sends unless a producer_request_hold quota is still exceeded. */
  private releaseHeldSends (): void {
    if (!this.exceededQuotas().some((quota) => quota.quota.policy === 'producer_request_hold')) this.held.releaseAll()
  }

  /**
   * Moves each cursor's mark-delete forward (a replicated `cursor` entry under the cursor's
   * generation, so a reset in between wins); its dispatcher stops delivering what that acknowledged.
   */
  private async advanceCursors (advances: readonly CursorAdvance[]): Promise<void> {
    for (const { subscription, markDelete } of advances) {
      const cursor = this.sm.cursor(subscription)
      if (cursor === undefined || cursor.markDelete >= markDelete) continue
      const outcome = await this.propose({ kind: 'cursor', body: { subscription, generation: cursor.generation, markDelete, ackedRanges: [] } })
      if (outcome?.kind === 'cursor' && outcome.applied && !this.nonDurable.has(subscription)) this.dispatchers.get(subscription)?.acknowledgeUpTo(markDelete)
    }
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

  /** Where a new dispatcher starts: the replicated cursor, or a reader's start position (memory only). */
  private startCursor (request: SubscribeRequest): { cursor: CursorState, durable: boolean } {
    if (request.durable ?? true) return { cursor: this.sm.cursor(request.subscription)!, durable: true }
    const start = request.startMessageId
    const position: CursorPosition = start !== undefined
      ? { at: 'message', index: start.index, batchIndex: start.batchIndex, inclusive: request.startMessageIdInclusive ?? false }
      : { at: request.initialPosition === 'Earliest' ? 'earliest' : 'latest' }
    return { cursor: this.readerCursor(request.subscription, request.type, position), durable: false }
  }

  /** A reader's cursor at `position`, as a reset applied now would put it. */
  private readerCursor (subscription: string, type: SubscriptionType, position: CursorPosition): CursorState {
    const point = this.sm.resetPoint(position, this.sm.appliedIndex)
    return { subscription, type, generation: 0, markDelete: point.markDelete, ackedRanges: [], batchAcks: point.batchAcks }
  }

  /** What a readCompacted dispatcher reads: the compacted view (built here first), then the log. */
  private async compactedSource (): Promise<DispatchSource> {
    const view = await this.compactor.current()
    this.requireLeader()
    return compactedSource(this.sm, view)
  }

  /** Builds the compacted view in the background (a failure is kept in the compaction status). */
  private buildCompactedView (): void {
    this.compactor.current().catch((error: unknown) => {
      this.options.env.logger.debug('compacted view not built', { topic: this.topic, error: String(error) })
    })
  }

  private openDispatcher (subscription: string, type: SubscriptionType, start: { cursor: CursorState, durable: boolean }, source: DispatchSource): Dispatcher {
    const options = {
      env: this.options.env,
      topic: this.topic,
      partition: this.sm.partition,
      cursor: start.cursor,
      source,
      deliver: this.options.deliver,
      // A reader's acknowledgements stay in memory: nothing of it reaches the log.
      proposeCursor: start.durable
        ? async (update: CursorEntry) => { await this.propose({ kind: 'cursor', body: update }) }
        : async () => {},
      limits: this.options.dispatchLimits
    }
    if (!start.durable) this.nonDurable.add(subscription)
    if (source !== this.sm) this.readingCompacted.add(subscription)
    const dispatcher = createDispatcher(type, options)
    this.dispatchers.set(subscription, dispatcher)
    return dispatcher
  }

  private closeDispatcher (subscription: string, reason: string): void {
    const dispatcher = this.dispatchers.get(subscription)
    if (dispatcher === undefined) return
    this.dispatchers.delete(subscription)
    this.nonDurable.delete(subscription)
    this.readingCompacted.delete(subscription)
    dispatcher.close(reason)
    for (const [consumerId, entry] of [...this.consumers]) {
      if (entry.subscription !== subscription) continue
      this.consumers.delete(consumerId)
      this.options.consumerClosed(entry.consumer, reason)
    }
  }

  /** Runs a policy check every interval while leading, one run at a time. */
  private scheduleCheck (check: PartitionReplica['checks'][number]): void {
    check.timer = this.options.env.clock.setTimer(check.intervalMs, () => {
      check.timer = null
      if (!this.leading) return
      check.run().then(
        () => { if (this.leading) this.scheduleCheck(check) },
        (error: unknown) => {
          this.options.env.logger.warn(`${check.name} failed`, { topic: this.topic, error: String(error) })
          if (this.leading) this.scheduleCheck(check)
        }
      )
    })
  }
}
