// The state machine of one partition's Raft group (DESIGN.md §5). Applies committed batch,
// cursor, subscription, config, trim and compaction entries deterministically (every replica reaches the
// same state), keeps the dead-letter outbox (a `deadLetter` entry acknowledges and queues
// messages in one step; see dead-letter-outbox.ts), assigns message IDs (partition, raft index, batch index), deduplicates producer
// batches, keeps each producer's batches in its send order (a batch naming an earlier one not
// stored yet is refused), keeps subscriptions' durable cursors, and serves committed batches to dispatch from
// a bounded cache, falling back to the Raft log on a miss.
import type { LogEntry, Logger, SnapshotMeta } from '@blazar/env'
import {
  BlazarError, DEFAULT_PARTITION_CONFIG, InvalidArgumentError, LimitExceededError, MAX_SUBSCRIPTIONS_PER_PARTITION,
  MessageTooLargeError, OutOfOrderSequenceError, PartitionEntryKind, UnknownSubscriptionError, decodePartitionEntry, errorToWire,
  type BatchEntry, type BatchEnvelope, type CursorEntry, type CursorPosition, type DeadLetterEntry, type PartitionConfig, type SubscriptionEntry, type TrimEntry
} from '@blazar/protocol'
import { DeadLetterOutbox, type OutboxEntry } from './dead-letter-outbox.ts'
import { RAFT_INTERNAL_KIND, assert, type StateMachine } from '../state-machine.ts'
import { DedupTable } from './dedup-table.ts'
import { DEFAULT_MESSAGE_CACHE_LIMITS, MessageCache, type MessageCacheLimits, type StoredBatch } from './message-cache.ts'
import { RecentOutcomes, type PartitionOutcome } from './outcomes.ts'
import { RetainedIndex, type RetainedBatch } from './retained-index.ts'
import { decodePartitionSnapshot, encodePartitionSnapshot } from './partition-snapshot.ts'
import { SubscriptionCursor, type BatchAck, type CursorState } from './subscription-cursor.ts'

/** Reads committed entries from the Raft log (RaftStorage.read) on a cache miss. */
export type LogReader = (from: number, toExclusive: number, maxBytes: number) => Promise<LogEntry[]>

export interface PartitionStateMachineOptions {
  /** Full topic name of this partition (its Raft group id). */
  topic: string
  /** Partition index for message IDs; -1 for a non-partitioned topic. */
  partition: number
  logger: Logger
  readLog?: LogReader
  cacheLimits?: MessageCacheLimits
  /**
   * Ask Raft for a local snapshot once trims dropped this many bytes since the last one (before
   * its entry-count threshold): the snapshot lets the store delete the segments behind the trim
   * point, so disk usage falls with retention. Default DEFAULT_SNAPSHOT_AFTER_TRIMMED_BYTES.
   */
  snapshotAfterTrimmedBytes?: number
}

/** The store's default segment size: trimming less than that cannot free a segment file. */
export const DEFAULT_SNAPSHOT_AFTER_TRIMMED_BYTES = 64 * 2 ** 20

export interface ReadLimits {
  maxEntries: number
  maxBytes: number
}

/** Where a reset or a reader's start puts a cursor: mark-delete, and the batch-index acks of a batch it starts inside. */
export interface ResetPoint {
  markDelete: number
  batchAcks: BatchAck[]
}

/** The last stored batch: its index and message count (the partition's last message id). */
export interface LastBatch {
  index: number
  messageCount: number
}

/** Called after every applied batch entry (dispatch wakes up on it). */
export type CommitListener = (batch: StoredBatch) => void

/** Called after a `deadLetter` entry appended to the outbox (the leader's forwarder wakes up on it). */
export type DeadLetterListener = (entries: readonly OutboxEntry[]) => void

/** Called after an entry that may shrink a backlog or change its quotas (cursor, subscription delete or reset, config). */
export type BacklogListener = () => void

export class PartitionStateMachine implements StateMachine {
  readonly topic: string
  readonly partition: number
  private readonly logger: Logger
  private readonly readLog: LogReader | undefined
  private readonly cache: MessageCache
  private readonly outcomes = new RecentOutcomes<PartitionOutcome>()
  private readonly listeners = new Set<CommitListener>()
  private readonly backlogListeners = new Set<BacklogListener>()
  private readonly deadLetterListeners = new Set<DeadLetterListener>()
  private readonly snapshotAfterTrimmedBytes: number
  /** Bytes trimmed since this replica last took or restored a snapshot (local, not replicated state). */
  private trimmedBytesSinceSnapshot = 0

  private lastApplied = 0
  /**
   * After a restore: the snapshot covered the log up to `snapshotBase` while its state already
   * held the entries up to `restoredThrough`; those between are skipped when re-applied.
   */
  private snapshotBase = 0
  private restoredThrough = 0
  private config: PartitionConfig = DEFAULT_PARTITION_CONFIG
  /** Every entry at or below this index has been trimmed away. */
  private trimmedTo = 0
  private retained = new RetainedIndex()
  private dedup = new DedupTable()
  private cursors = new Map<string, SubscriptionCursor>()
  private messagesIn = 0
  private bytesIn = 0
  /** Outlives trims: the last message id stays known when every batch is trimmed. */
  private last: LastBatch | null = null
  /** The index of the last applied compaction entry (0: never compacted): the compacted view covers the log up to it. */
  private horizon = 0
  private outbox = new DeadLetterOutbox()

  constructor (options: PartitionStateMachineOptions) {
    this.topic = options.topic
    this.partition = options.partition
    this.logger = options.logger
    this.readLog = options.readLog
    this.cache = new MessageCache(options.cacheLimits ?? DEFAULT_MESSAGE_CACHE_LIMITS)
    this.snapshotAfterTrimmedBytes = options.snapshotAfterTrimmedBytes ?? DEFAULT_SNAPSHOT_AFTER_TRIMMED_BYTES
  }

  apply (entry: LogEntry): void {
    // Re-applied after a restore: the snapshot was taken with these entries already applied
    // (Raft snapshots a partition only up to compactableIndex), so its state holds them.
    if (entry.index > this.snapshotBase && entry.index <= this.restoredThrough) return
    assert(entry.index > this.lastApplied, `${this.topic}: applied ${entry.index} after ${this.lastApplied}`)
    this.lastApplied = entry.index
    if (entry.kind === RAFT_INTERNAL_KIND) return
    let outcome: PartitionOutcome
    try {
      const decoded = decodePartitionEntry(entry.kind, entry.data)
      switch (decoded.kind) {
        case 'batch': outcome = this.applyBatch(entry.index, decoded.body); break
        case 'cursor': outcome = this.applyCursor(decoded.body); break
        case 'subscription': outcome = this.applySubscription(entry.index, decoded.body); break
        case 'config': this.config = decoded.body; outcome = { kind: 'config' }; this.backlogChanged(); break
        case 'trim': outcome = this.applyTrim(decoded.body); break
        case 'compaction': this.horizon = entry.index; outcome = { kind: 'compaction', horizon: entry.index }; break
        case 'deadLetter': outcome = this.applyDeadLetter(decoded.body); break
        case 'deadLetterForwarded': outcome = { kind: 'dead-letter-forwarded', removed: this.outbox.forwarded(decoded.body.subscription, decoded.body.upTo) }; break
      }
    } catch (error) {
      if (!(error instanceof BlazarError)) throw error
      // A bad entry is rejected identically on every replica: the state stays the same everywhere.
      this.logger.warn('partition entry rejected', { topic: this.topic, index: entry.index, code: error.code })
      outcome = { kind: 'rejected', error: errorToWire(error) }
    }
    this.outcomes.record(entry.index, outcome)
  }

  /** Raft takes the snapshot it asked for (snapshotWanted) or its threshold called for. */
  snapshot (): Uint8Array {
    this.trimmedBytesSinceSnapshot = 0
    const outbox = this.outbox.toState()
    return encodePartitionSnapshot({
      version: 1,
      lastApplied: this.lastApplied,
      config: this.config,
      trimmedTo: this.trimmedTo,
      retained: this.retained.toColumns(),
      cursors: [...this.cursors.values()].map((cursor) => cursor.toState()),
      producers: this.dedup.entries(),
      messagesIn: this.messagesIn,
      bytesIn: this.bytesIn,
      ...(this.last === null ? {} : { lastBatch: this.last }),
      ...(this.horizon === 0 ? {} : { compactionHorizon: this.horizon }),
      // Left out until the first dead letter, so snapshots of partitions without any keep their bytes.
      ...(outbox.nextPosition === 1 ? {} : { deadLetterOutbox: outbox })
    })
  }

  restore (data: Uint8Array, meta: SnapshotMeta): void {
    const snapshot = decodePartitionSnapshot(data)
    assert(snapshot.lastApplied >= meta.index, `${this.topic}: snapshot of state at ${snapshot.lastApplied} restored as covering ${meta.index}`)
    this.lastApplied = snapshot.lastApplied
    this.snapshotBase = meta.index
    this.restoredThrough = snapshot.lastApplied
    this.config = snapshot.config
    this.trimmedTo = snapshot.trimmedTo
    this.retained = RetainedIndex.fromColumns(snapshot.retained)
    this.cursors = new Map(snapshot.cursors.map((state) => [state.subscription, new SubscriptionCursor(state)]))
    this.dedup = DedupTable.fromEntries(snapshot.producers)
    this.messagesIn = snapshot.messagesIn
    this.bytesIn = snapshot.bytesIn
    this.last = snapshot.lastBatch ?? null
    this.horizon = snapshot.compactionHorizon ?? 0
    this.outbox = new DeadLetterOutbox(snapshot.deadLetterOutbox)
    this.cache.clear()
    this.outcomes.clear()
    this.trimmedBytesSinceSnapshot = 0
  }

  /** Whether trims freed enough of the log that a snapshot (and the segment deletion it allows) is due. */
  snapshotWanted (): boolean {
    return this.trimmedBytesSinceSnapshot >= this.snapshotAfterTrimmedBytes
  }

  // ---- queries -------------------------------------------------------------------------

  get appliedIndex (): number {
    return this.lastApplied
  }

  get partitionConfig (): PartitionConfig {
    return this.config
  }

  /** The first index the partition still needs from the Raft log; Raft must not compact at or above it. */
  get firstRetainedIndex (): number {
    return this.trimmedTo + 1
  }

  /**
   * Raft's compaction bound (StateMachine.compactableIndex): messages live only in the log, so
   * a snapshot may cover it only up to the trim point. Everything else the entries below it
   * did (cursors, subscriptions, dedup, config) is in the snapshot.
   */
  compactableIndex (): number {
    return Math.min(this.trimmedTo, this.lastApplied)
  }

  outcome (index: number): PartitionOutcome | undefined {
    return this.outcomes.get(index)
  }

  /** Highest sequence id persisted for a producer, -1 if none (returned when a producer connects). */
  lastSequenceId (producerName: string): number {
    return this.dedup.lastSequenceId(producerName)
  }

  /**
   * Topic compaction's horizon: the compacted view covers the log up to this index (0: never
   * compacted). The view itself is a function of the horizon and the retained batches at or
   * below it (retention never trims what it keeps), so a leader rebuilds it from the log.
   */
  get compactionHorizon (): number {
    return this.horizon
  }

  /** Bytes of the retained batches after the compaction horizon (what compactionThreshold measures). */
  bytesSinceCompaction (): number {
    return this.retained.bytesAfter(this.horizon)
  }

  /** The dead letters not yet forwarded, in position order (one subscription's, or all). */
  deadLetterOutbox (subscription?: string): OutboxEntry[] {
    return this.outbox.pending(subscription)
  }

  /** The subscriptions with dead letters waiting to be forwarded. */
  deadLetterSubscriptions (): string[] {
    return this.outbox.subscriptions()
  }

  /** The last stored batch (null before the first): the partition's last message id. */
  get lastBatch (): LastBatch | null {
    return this.last
  }

  /** Messages in retained batches with index above `index`. */
  messagesAfter (index: number): number {
    return this.retained.messagesAfter(index)
  }

  /** Message count of the retained batch at `index`, or undefined when none is there. */
  messageCountAt (index: number): number | undefined {
    return this.retained.find(index)?.messageCount
  }

  subscriptions (): CursorState[] {
    return [...this.cursors.values()].map((cursor) => cursor.toState())
  }

  cursor (subscription: string): CursorState | undefined {
    return this.cursors.get(subscription)?.toState()
  }

  /** Messages not yet acknowledged by `subscription` (counted per batch entry, as Pulsar). */
  backlog (subscription: string): number {
    const cursor = this.cursors.get(subscription)
    if (cursor === undefined) throw new UnknownSubscriptionError({ topic: this.topic, subscription })
    let backlog = 0
    const start = this.retained.firstAtOrAfter(cursor.markDelete + 1)
    for (let i = start; i < this.retained.length; i++) {
      const batch = this.retained.at(i)
      if (!cursor.acked.has(batch.index)) backlog += batch.messageCount
    }
    return backlog
  }

  /**
   * Retained batches `subscription` has not acknowledged, in log order, at most `max` (for
   * admin skips, expiry and peeks). Throws UnknownSubscription.
   */
  unackedBatches (subscription: string, max: number): RetainedBatch[] {
    const out: RetainedBatch[] = []
    for (const batch of this.unacked(subscription)) {
      if (out.length >= max) break
      out.push(batch)
    }
    return out
  }

  /** The retained batches `subscription` has not acknowledged, in log order (lazily). Throws UnknownSubscription. */
  * unacked (subscription: string): Generator<RetainedBatch> {
    const cursor = this.cursors.get(subscription)
    if (cursor === undefined) throw new UnknownSubscriptionError({ topic: this.topic, subscription })
    for (let i = this.retained.firstAtOrAfter(cursor.markDelete + 1); i < this.retained.length; i++) {
      const batch = this.retained.at(i)
      if (!cursor.acked.has(batch.index)) yield batch
    }
  }

  /** The lowest mark-delete over the durable subscriptions (Pulsar's slowest cursor), null without any. */
  slowestMarkDelete (): number | null {
    let slowest: number | null = null
    for (const cursor of this.cursors.values()) slowest = slowest === null ? cursor.markDelete : Math.min(slowest, cursor.markDelete)
    return slowest
  }

  /** Bytes of the retained batches above `index` (from the slowest mark-delete: Pulsar's estimated backlog size). */
  bytesAfter (index: number): number {
    return this.retained.bytesAfter(index)
  }

  /** The first retained batch above `index`, if any. */
  firstBatchAfter (index: number): RetainedBatch | undefined {
    const i = this.retained.firstAtOrAfter(index + 1)
    return i < this.retained.length ? this.retained.at(i) : undefined
  }

  /**
   * The lowest batch index X such that the batches above X hold at most `maxBytes` (where a
   * backlog must start to fit in that size); the trim point when everything already fits.
   */
  lowestIndexFitting (maxBytes: number): number {
    if (this.retained.bytesAfter(this.trimmedTo) <= maxBytes) return this.trimmedTo
    let lo = 0
    let hi = this.retained.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.retained.bytesAfter(this.retained.at(mid).index) <= maxBytes) hi = mid
      else lo = mid + 1
    }
    return this.retained.at(lo).index
  }

  /**
   * Scanning the retained batches above `after` in log order until one published at or after
   * `time`: the last batch passed (null if none). Where expiry (TTL, age quota, admin expire)
   * moves a cursor from mark-delete `after`.
   */
  lastPublishedBefore (after: number, time: number): number | null {
    let last: number | null = null
    for (let i = this.retained.firstAtOrAfter(after + 1); i < this.retained.length; i++) {
      const batch = this.retained.at(i)
      if (batch.publishTime >= time) break
      last = batch.index
    }
    return last
  }

  /** Bytes of the batches `subscription` has not acknowledged (Pulsar backlogSize). */
  backlogBytes (subscription: string): number {
    let bytes = 0
    for (const batch of this.unackedBatches(subscription, Number.POSITIVE_INFINITY)) bytes += batch.bytes
    return bytes
  }

  stats (): { messagesIn: number, bytesIn: number, retainedMessages: number, retainedBytes: number, producers: number } {
    return { messagesIn: this.messagesIn, bytesIn: this.bytesIn, retainedMessages: this.retained.messages, retainedBytes: this.retained.bytes, producers: this.dedup.size }
  }

  /** The next message entry index after `index` (Infinity if none is committed yet). */
  nextMessageIndex (index: number): number {
    const i = this.retained.firstAtOrAfter(index + 1)
    return i < this.retained.length ? this.retained.at(i).index : Number.POSITIVE_INFINITY
  }

  onCommit (listener: CommitListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  onDeadLetter (listener: DeadLetterListener): () => void {
    this.deadLetterListeners.add(listener)
    return () => { this.deadLetterListeners.delete(listener) }
  }

  onBacklogChange (listener: BacklogListener): () => void {
    this.backlogListeners.add(listener)
    return () => { this.backlogListeners.delete(listener) }
  }

  /**
   * Committed batches with index >= `from` (trimmed ones are skipped), in index order, up to
   * the limits (always at least one when any exists). Served from the cache, then the log.
   */
  async read (from: number, limits: ReadLimits): Promise<StoredBatch[]> {
    assert(limits.maxEntries > 0, 'read needs maxEntries > 0')
    const out: StoredBatch[] = []
    let bytes = 0
    let position = this.retained.firstAtOrAfter(Math.max(from, this.trimmedTo + 1))
    const full = (): boolean => out.length >= limits.maxEntries || (out.length > 0 && bytes >= limits.maxBytes)
    while (position < this.retained.length && !full()) {
      const cached = this.cache.get(this.retained.at(position).index)
      const batches = cached !== undefined ? [cached] : await this.readFromLog(position, limits.maxEntries - out.length, limits.maxBytes - bytes)
      if (batches.length === 0) break
      for (const batch of batches) {
        if (full()) break
        out.push(batch)
        bytes += batch.envelope.body.length
        position = this.retained.firstAtOrAfter(batch.index + 1)
      }
    }
    return out
  }

  /**
   * The highest index retention allows trimming at `now` (Pulsar semantics): never above what
   * every subscription has acknowledged; with no subscription everything is acknowledged;
   * acknowledged batches are kept while inside both the retention time and size (0 = keep
   * none, -1 = unlimited). The leader proposes `trim` entries from this.
   */
  retentionTrimPoint (now: number): number {
    let acked = this.retentionCeiling()
    for (const cursor of this.cursors.values()) acked = Math.min(acked, cursor.markDelete)
    const { retentionTimeMinutes, retentionSizeMB } = this.config
    if (retentionTimeMinutes === -1 && retentionSizeMB === -1) return this.trimmedTo
    const end = this.retained.firstAtOrAfter(acked + 1)
    if (retentionTimeMinutes === 0 || retentionSizeMB === 0) return Math.max(this.trimmedTo, acked)
    const oldestKept = retentionTimeMinutes === -1 ? Number.NEGATIVE_INFINITY : now - retentionTimeMinutes * 60_000
    const maxBytes = retentionSizeMB === -1 ? Number.POSITIVE_INFINITY : retentionSizeMB * 1024 * 1024
    let keptBytes = 0
    let trimTo = this.trimmedTo
    for (let i = end - 1; i >= 0; i--) {
      const batch = this.retained.at(i)
      keptBytes += batch.bytes
      if (batch.publishTime < oldestKept || keptBytes > maxBytes) {
        trimTo = batch.index
        break
      }
    }
    return Math.max(this.trimmedTo, trimTo)
  }

  // ---- apply ---------------------------------------------------------------------------

  private applyBatch (index: number, batch: BatchEntry): PartitionOutcome {
    if (batch.uncompressedSize > this.config.maxMessageSize) {
      throw new MessageTooLargeError({ size: batch.uncompressedSize, maxMessageSize: this.config.maxMessageSize })
    }
    if (this.config.deduplication && this.dedup.isDuplicate(batch.producerName, batch.lastSequenceId)) {
      return { kind: 'duplicate', producerName: batch.producerName, lastSequenceId: this.dedup.lastSequenceId(batch.producerName) }
    }
    const lastSequenceId = this.dedup.lastSequenceId(batch.producerName)
    if (batch.previousSequenceId !== undefined && lastSequenceId < batch.previousSequenceId) {
      // An expected refusal (the producer resends in order), so not logged like a bad entry.
      const error = new OutOfOrderSequenceError({ producerName: batch.producerName, previousSequenceId: batch.previousSequenceId, lastSequenceId })
      return { kind: 'rejected', error: errorToWire(error) }
    }
    // When the producer's last stored batch is the one this batch names, its index goes back
    // with this batch's outcome: a producer that never learned that batch's outcome (a timeout,
    // a lost connection) learns its id here instead of resending it after this one.
    const last = this.dedup.get(batch.producerName)
    const predecessorIndex = batch.previousSequenceId !== undefined && last?.lastSequenceId === batch.previousSequenceId ? last.lastIndex : undefined
    const { publishTime, envelope } = storedParts(batch)
    this.retained.push({ index, messageCount: batch.messageCount, bytes: batch.body.length, publishTime })
    this.dedup.record(batch.producerName, batch.lastSequenceId, index, publishTime)
    this.messagesIn += batch.messageCount
    this.bytesIn += batch.body.length
    this.last = { index, messageCount: batch.messageCount }
    const stored: StoredBatch = { index, publishTime, envelope }
    this.cache.add(stored)
    for (const listener of this.listeners) listener(stored)
    const outcome: PartitionOutcome = { kind: 'stored', firstMessageId: { partition: this.partition, index, batchIndex: 0 }, messageCount: batch.messageCount }
    if (predecessorIndex !== undefined) outcome.predecessorIndex = predecessorIndex
    return outcome
  }

  private applyCursor (update: CursorEntry): PartitionOutcome {
    const cursor = this.requireCursor(update.subscription)
    if (update.markDelete > this.lastApplied) {
      throw new InvalidArgumentError({ argument: 'markDelete', reason: `${update.markDelete} is beyond the applied index ${this.lastApplied}` })
    }
    for (const [from, to] of update.ackedRanges) {
      if (from > to || to > this.lastApplied) throw new InvalidArgumentError({ argument: 'ackedRanges', reason: `bad range [${from}, ${to}]` })
    }
    for (const [index, batchIndexes] of update.batchAcks ?? []) {
      const count = this.retained.find(index)?.messageCount
      if (index > this.lastApplied || (count !== undefined && batchIndexes.some((b) => b >= count))) {
        throw new InvalidArgumentError({ argument: 'batchAcks', reason: `bad batch-index ack of entry ${index}` })
      }
    }
    const applied = cursor.advance(update, (i) => this.nextMessageIndex(i))
    if (applied) this.backlogChanged()
    return { kind: 'cursor', applied }
  }

  private applySubscription (index: number, entry: SubscriptionEntry): PartitionOutcome {
    switch (entry.op) {
      case 'create': {
        if (this.cursors.has(entry.subscription)) return { kind: 'subscription', created: false }
        if (this.cursors.size >= MAX_SUBSCRIPTIONS_PER_PARTITION) {
          throw new LimitExceededError({ limit: 'subscriptions per partition', value: this.cursors.size + 1, max: MAX_SUBSCRIPTIONS_PER_PARTITION })
        }
        const markDelete = entry.initialPosition === 'Earliest' ? this.trimmedTo : index
        this.cursors.set(entry.subscription, new SubscriptionCursor({ subscription: entry.subscription, type: entry.type, generation: 0, markDelete, ackedRanges: [], batchAcks: [] }))
        return { kind: 'subscription', created: true }
      }
      case 'delete':
        this.requireCursor(entry.subscription)
        this.cursors.delete(entry.subscription)
        this.backlogChanged()
        return { kind: 'subscription', created: false }
      case 'reset': {
        const cursor = this.requireCursor(entry.subscription)
        const point = this.resetPoint(entry.position, index)
        cursor.reset(point.markDelete, point.batchAcks)
        this.backlogChanged()
        return { kind: 'subscription', created: false }
      }
    }
  }

  private applyTrim (entry: TrimEntry): PartitionOutcome {
    // Computed before any compaction applied: it may drop messages the compacted view keeps.
    // (A trim bounded under an earlier view is safe: the bound never decreases as the horizon rises.)
    if (this.horizon > 0 && (entry.compactionHorizon ?? 0) === 0) return { kind: 'trim', trimmedTo: this.trimmedTo }
    let upTo = Math.min(entry.upTo, this.retentionCeiling())
    for (const cursor of this.cursors.values()) upTo = Math.min(upTo, cursor.markDelete)
    if (upTo > this.trimmedTo) {
      this.trimmedBytesSinceSnapshot += this.retained.bytes - this.retained.bytesAfter(upTo)
      this.trimmedTo = upTo
      this.retained.dropUpTo(upTo)
      this.cache.dropUpTo(upTo)
    }
    return { kind: 'trim', trimmedTo: this.trimmedTo }
  }

  /** Nothing at or above the lowest message the dead-letter outbox names may be trimmed (the forwarder reads it from the log). */
  private retentionCeiling (): number {
    const lowest = this.outbox.lowestIndex()
    return lowest === null ? this.lastApplied : Math.min(this.lastApplied, lowest - 1)
  }

  /**
   * Acknowledges the named messages not acknowledged yet and appends each to the outbox, in
   * one step, so a message goes to the outbox at most once per cursor generation (a second
   * request for it, after a lost answer or from a new leader's redelivery, finds it
   * acknowledged). Validated before anything changes: a rejection leaves the state as it was.
   */
  private applyDeadLetter (entry: DeadLetterEntry): PartitionOutcome {
    const cursor = this.requireCursor(entry.subscription)
    if (entry.generation !== cursor.generation) return { kind: 'dead-letter', positions: [], alreadyAcknowledged: 0, stale: true }
    const wanted = new Map<number, Set<number>>()
    let alreadyAcknowledged = 0
    for (const [index, batchIndex] of entry.messages) {
      const count = this.retained.find(index)?.messageCount
      if (cursor.isAcked(index)) {
        alreadyAcknowledged++
        continue
      }
      if (count === undefined || batchIndex >= count) {
        throw new InvalidArgumentError({ argument: 'messages', reason: `no message ${index}:${batchIndex} to dead-letter` })
      }
      const acked = new Set(cursor.ackedBatchIndexes(index))
      const indexes = wanted.get(index) ?? new Set<number>()
      for (const b of batchIndex === -1 ? Array.from({ length: count }, (_, i) => i) : [batchIndex]) {
        if (acked.has(b)) alreadyAcknowledged++
        else indexes.add(b)
      }
      wanted.set(index, indexes)
    }
    let added = 0
    for (const indexes of wanted.values()) added += indexes.size
    this.outbox.checkRoom(added)
    const positions: number[] = []
    const appended: OutboxEntry[] = []
    const ackedRanges: Array<[number, number]> = []
    const batchAcks: Array<[number, number[]]> = []
    for (const [index, indexes] of [...wanted].sort(([a], [b]) => a - b)) {
      if (indexes.size === 0) continue
      for (const batchIndex of [...indexes].sort((a, b) => a - b)) {
        const queued = this.outbox.append(entry.subscription, entry.deadLetterTopic, index, batchIndex)
        positions.push(queued.position)
        appended.push(queued)
      }
      const whole = cursor.ackedBatchIndexes(index).length + indexes.size === this.retained.find(index)!.messageCount
      if (whole) ackedRanges.push([index, index])
      else batchAcks.push([index, [...indexes]])
    }
    if (appended.length > 0) {
      cursor.advance({ subscription: entry.subscription, generation: cursor.generation, markDelete: cursor.markDelete, ackedRanges, batchAcks }, (i) => this.nextMessageIndex(i))
      this.backlogChanged()
      for (const listener of this.deadLetterListeners) listener(appended)
    }
    return { kind: 'dead-letter', positions, alreadyAcknowledged, stale: false }
  }

  /**
   * Where a reset applied at `index` (the end of the log as of the reset) puts a cursor: just
   * below the first message to deliver again, never beyond `index`. A message position inside a
   * batch acknowledges the batch's earlier messages (batch-index acks); exclusive of the
   * message, that message too. Inclusive of an id past the end of the log: the last message
   * (a reader started at `latest` inclusive reads the last message, as in Pulsar).
   */
  resetPoint (position: CursorPosition, index: number): ResetPoint {
    switch (position.at) {
      case 'earliest': return { markDelete: this.trimmedTo, batchAcks: [] }
      case 'latest': return { markDelete: index, batchAcks: [] }
      case 'message': return this.messageResetPoint(position, index)
      case 'publishTime': {
        const i = this.retained.firstPublishedAtOrAfter(position.publishTime)
        return { markDelete: i < this.retained.length ? this.retained.at(i).index - 1 : index, batchAcks: [] }
      }
    }
  }

  private messageResetPoint (position: Extract<CursorPosition, { at: 'message' }>, end: number): ResetPoint {
    const inclusive = position.inclusive ?? true
    let { index, batchIndex } = position
    if (inclusive && this.last !== null && index > end) {
      index = this.last.index
      batchIndex = this.last.messageCount - 1
    }
    const clamp = (markDelete: number): number => Math.min(end, Math.max(this.trimmedTo, markDelete))
    const count = this.retained.find(index)?.messageCount
    // Inside a batch: mark-delete just below it, the messages before the start acknowledged.
    const firstToDeliver = inclusive ? batchIndex : batchIndex + 1
    if (count !== undefined && batchIndex >= 0 && firstToDeliver > 0 && firstToDeliver < count) {
      return { markDelete: clamp(index - 1), batchAcks: [[index, Array.from({ length: firstToDeliver }, (_, i) => i)]] }
    }
    const wholeBatchDelivered = inclusive || (count !== undefined && batchIndex >= 0 && firstToDeliver < count)
    return { markDelete: clamp(wholeBatchDelivered ? index - 1 : index), batchAcks: [] }
  }

  private backlogChanged (): void {
    for (const listener of this.backlogListeners) listener()
  }

  private requireCursor (subscription: string): SubscriptionCursor {
    const cursor = this.cursors.get(subscription)
    if (cursor === undefined) throw new UnknownSubscriptionError({ topic: this.topic, subscription })
    return cursor
  }

  /** Up to `maxEntries` retained batches from `position`, read from the Raft log in one range. */
  private async readFromLog (position: number, maxEntries: number, maxBytes: number): Promise<StoredBatch[]> {
    if (this.readLog === undefined) return []
    const first = this.retained.at(position).index
    const lastPosition = Math.min(this.retained.length, position + maxEntries) - 1
    const entries = await this.readLog(first, this.retained.at(lastPosition).index + 1, Math.max(1, maxBytes))
    const out: StoredBatch[] = []
    for (const entry of entries) {
      if (entry.kind !== PartitionEntryKind.batch || this.retained.find(entry.index) === undefined) continue
      const decoded = decodePartitionEntry(entry.kind, entry.data)
      assert(decoded.kind === 'batch', `${this.topic}: entry ${entry.index} decoded as ${decoded.kind}`)
      out.push({ index: entry.index, ...storedParts(decoded.body) })
    }
    return out
  }
}

/** A batch entry as dispatch sees it: the producer's envelope and the publish time. */
function storedParts (entry: BatchEntry): { publishTime: number, envelope: BatchEnvelope } {
  const { publishTime, previousSequenceId: _ordering, ...envelope } = entry
  return { publishTime, envelope }
}
