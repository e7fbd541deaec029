// A producer on one partition (or a non-partitioned topic): batching, sequence ids, pipelined
// sends, and recovery. A send resolves only with the node's answer (committed); on NOT_LEADER,
// OUTCOME_UNKNOWN, PRODUCER_CLOSED, a lost connection or a request timeout the producer stops
// sending, waits for the sends in flight, looks the topic up again, creates the producer again
// (same handle, same name) and resends every unacknowledged batch in order with the same
// sequence ids, until each batch's sendTimeoutMs runs out. Each send names the batch pending
// before it (`previousSequenceId`), so the partition refuses (OUT_OF_ORDER_SEQUENCE) a
// pipelined batch that would be stored ahead of an earlier one that was refused or is late:
// acknowledged messages are stored in send order whatever the route each request took.
// Answers are released in send order too: a batch known stored behind one whose outcome is
// still open is held, and when recovery resends that earlier batch it resends the held ones
// after it, so an acknowledged id never precedes the id of a batch sent before it (with
// deduplication off the first copies stay in the log as duplicates: at-least-once).
import {
  BackpressureError, InvalidArgumentError, MessageId, MessageTooLargeError, NotLeaderError, OutOfOrderSequenceError, ProducerClosedError, TimeoutError, encodeBatch,
  type BatchEnvelope, type ClientResult, type CompressionType, type ProducerMessage
} from '@blazar/protocol'
import type { ClientLink } from './client-transport.ts'
import { BatchBuilder, messageBytes, type PendingMessage } from './batch-builder.ts'
import type { ClientContext } from './context.ts'
import { isRetryable } from './errors.ts'
import { finalError, retryDelayMs, withRetries } from './retry.ts'
import { sleep, type TimerHandle } from './timers.ts'

/** Batches one producer keeps in flight at once. */
export const MAX_INFLIGHT_BATCHES = 64

export interface ProducerSettings {
  sendTimeoutMs: number
  batchingEnabled: boolean
  batchingMaxMessages: number
  batchingMaxBytes: number
  batchingMaxPublishDelayMs: number
  maxPendingMessages: number
  compressionType: CompressionType
  accessMode: 'Shared' | 'Exclusive' | 'ExclusiveWithFencing' | 'WaitForExclusive'
}

export interface PartitionProducerOptions {
  context: ClientContext
  settings: ProducerSettings
  /** The topic lookups name (the partitioned topic itself). */
  lookupTopic: string
  /** The topic create-producer names: `lookupTopic` or its `-partition-N`. */
  topic: string
  /** -1 for a non-partitioned topic. */
  partition: number
  producerName?: string
}

export interface OutgoingMessage {
  payload: Uint8Array
  key?: string
  orderingKey?: Uint8Array
  properties: Record<string, string>
  eventTime: number
  /** Delayed delivery (ms since the epoch): such a message travels as a batch of one, as in Pulsar. */
  deliverAtTime?: number
  /** Set by the application (Pulsar `sequenceId`): above every id used before. */
  sequenceId?: number
}

interface PendingBatch {
  messages: PendingMessage[]
  envelope: BatchEnvelope
  deadline: number
  inflight: boolean
  lastError: unknown
  attempts: number
  /** Some attempt's outcome was unknown (OUTCOME_UNKNOWN, a timeout, a connection lost in flight). */
  mayBeStored: boolean
  /** Known stored at this index, held until every batch before it is settled. */
  storedAt: number | undefined
  /** Where an earlier copy was stored: the answer for a resend the partition deduplicates. */
  storedBefore: number | undefined
  settle: () => void
  settled: Promise<void>
}

type State = 'ready' | 'closing' | 'closed'

export class PartitionProducer {
  readonly topic: string
  readonly partition: number
  readonly producerId: number
  private readonly context: ClientContext
  private readonly settings: ProducerSettings
  private readonly lookupTopic: string
  private readonly builder: BatchBuilder
  private readonly batches: PendingBatch[] = []
  private readonly idle: Array<() => void> = []
  private state: State = 'ready'
  private connection: ClientLink | undefined
  private name: string | undefined
  private maxMessageSize = 0
  private nextSequenceId = 0
  private pendingMessages = 0
  private inflight = 0
  private batchTimer: TimerHandle | undefined
  private recovering: Promise<void> | undefined
  private detached = false
  /** The connection a create-producer is in flight on, and whether the node closed the handle meanwhile. */
  private creatingOn: string | undefined
  private closedWhileCreating = false

  constructor (options: PartitionProducerOptions) {
    this.context = options.context
    this.settings = options.settings
    this.lookupTopic = options.lookupTopic
    this.topic = options.topic
    this.partition = options.partition
    this.name = options.producerName
    this.producerId = options.context.nextHandle()
    const maxMessages = options.settings.batchingEnabled ? options.settings.batchingMaxMessages : 1
    this.builder = new BatchBuilder(maxMessages, options.settings.batchingMaxBytes)
  }

  get producerName (): string {
    return this.name ?? ''
  }

  /** The PeerId of the node this producer is attached through, if attached. */
  get peer (): string | undefined {
    return this.detached ? undefined : this.connection?.peer
  }

  get connected (): boolean {
    return this.state === 'ready' && !this.detached && this.connection?.open === true
  }

  /** The first create-producer: retried on NOT_LEADER and broken connections until operationTimeoutMs. */
  async attach (): Promise<void> {
    const timeoutMs = this.context.operationTimeoutMs
    await withRetries({
      operation: `create producer on ${this.topic}`, scope: 'attach', timers: this.context.timers,
      deadline: this.context.timers.now() + timeoutMs, timeoutMs, signal: this.context.closed
    }, async (remainingMs) => { await this.createOnLeader(remainingMs) })
  }

  send (message: OutgoingMessage): Promise<MessageId> {
    if (this.state !== 'ready') return Promise.reject(this.closedError())
    const bytes = messageBytes(message)
    if (bytes > this.maxMessageSize) return Promise.reject(new MessageTooLargeError({ size: bytes, maxMessageSize: this.maxMessageSize }))
    if (message.sequenceId !== undefined && message.sequenceId < this.nextSequenceId) {
      return Promise.reject(new InvalidArgumentError({ argument: 'sequenceId', reason: `${message.sequenceId} is not above the last sequence id this producer used (${this.nextSequenceId - 1})` }))
    }
    if (this.pendingMessages >= this.settings.maxPendingMessages) {
      return Promise.reject(new BackpressureError({ resource: `producer ${this.producerName} pending messages`, limit: this.settings.maxPendingMessages }))
    }
    if (this.builder.wouldOverflow(bytes) || this.builder.bytes + bytes > this.maxMessageSize || message.deliverAtTime !== undefined) this.flushBatch()
    this.pendingMessages++
    return new Promise<MessageId>((resolve, reject) => {
      const sequenceId = message.sequenceId ?? this.nextSequenceId
      this.nextSequenceId = sequenceId + 1
      // A delayed message travels alone: deliverAtTime is batch-wide in Pulsar's metadata.
      const full: ProducerMessage = { ...message, sequenceId }
      this.builder.add({ message: full, bytes, enqueuedAt: this.context.timers.now(), resolve, reject })
      if (this.builder.full || message.deliverAtTime !== undefined) this.flushBatch()
      else if (this.batchTimer === undefined) {
        this.batchTimer = this.context.timers.setTimeout(() => {
          this.batchTimer = undefined
          this.flushBatch()
        }, this.settings.batchingMaxPublishDelayMs)
      }
    })
  }

  /** Sends the open batch now and waits until every message sent before this call has settled. */
  async flush (): Promise<void> {
    this.flushBatch()
    await Promise.all(this.batches.map((batch) => batch.settled))
  }

  /** Flushes, then detaches from the node; later sends reject with ProducerClosedError. */
  async close (): Promise<void> {
    if (this.state !== 'ready') return
    this.state = 'closing'
    await this.flush()
    this.state = 'closed'
    const connection = this.connection
    if (connection?.open === true && !this.detached) {
      await this.context.pool.request(connection, { type: 'close-producer', producerId: this.producerId }, this.context.operationTimeoutMs).catch(() => {})
    }
  }

  /** A producer-closed push on connection `peer`. */
  serverClosed (peer: string): void {
    if (peer === this.peer) this.detach()
    else if (peer === this.creatingOn) this.closedWhileCreating = true
  }

  /** The node closed this producer (producer-closed push) or its connection was lost. */
  detach (): void {
    if (this.state === 'closed') return
    this.detached = true
    this.recover()
  }

  /** Fails everything pending (the client is closing). */
  abort (error: Error): void {
    this.state = 'closed'
    this.batchTimer?.cancel()
    this.batchTimer = undefined
    for (const pending of this.builder.drain()) this.fail([pending], error)
    for (const batch of this.batches.splice(0)) this.failBatch(batch, error)
  }

  private flushBatch (): void {
    this.batchTimer?.cancel()
    this.batchTimer = undefined
    if (this.builder.count === 0) return
    const messages = this.builder.drain()
    let envelope: BatchEnvelope
    try {
      envelope = encodeBatch(messages.map((pending) => pending.message), {
        producerName: this.producerName,
        compression: this.settings.compressionType,
        maxMessageSize: this.maxMessageSize,
        publishTime: this.context.timers.now()
      }, this.context.codecs)
    } catch (error) {
      this.fail(messages, error as Error)
      return
    }
    let settle = () => {}
    const settled = new Promise<void>((resolve) => { settle = resolve })
    const deadline = this.settings.sendTimeoutMs > 0 ? messages[0].enqueuedAt + this.settings.sendTimeoutMs : Number.POSITIVE_INFINITY
    this.batches.push({ messages, envelope, deadline, inflight: false, lastError: undefined, attempts: 0, mayBeStored: false, storedAt: undefined, storedBefore: undefined, settle, settled })
    this.pump()
  }

  /** Sends every batch not yet in flight, in sequence order, up to MAX_INFLIGHT_BATCHES. */
  private pump (): void {
    if (this.recovering !== undefined || this.state === 'closed') return
    if (this.detached) {
      if (this.batches.length > 0) this.recover()
      return
    }
    for (const batch of [...this.batches]) {
      if (this.inflight >= MAX_INFLIGHT_BATCHES) return
      if (batch.inflight || batch.storedAt !== undefined || !this.batches.includes(batch)) continue
      if (batch.deadline <= this.context.timers.now()) {
        this.expire(batch)
        continue
      }
      this.sendBatch(batch)
    }
  }

  private sendBatch (batch: PendingBatch): void {
    const connection = this.connection
    if (connection === undefined) return
    batch.inflight = true
    batch.attempts++
    this.inflight++
    const remaining = Math.min(batch.deadline - this.context.timers.now(), this.context.operationTimeoutMs)
    const previous = this.batches[this.batches.indexOf(batch) - 1]
    const request = previous === undefined
      ? { type: 'send' as const, producerId: this.producerId, batch: batch.envelope }
      : { type: 'send' as const, producerId: this.producerId, batch: batch.envelope, previousSequenceId: previous.envelope.lastSequenceId }
    this.context.pool.request(connection, request, remaining).then(
      (result) => {
        // The partition stored `previous` (this batch named it and was stored): if we never
        // learned that, its id comes with this answer, and it must not be resent after this one.
        if (previous !== undefined && result.predecessorIndex !== undefined) this.hold(previous, result.predecessorIndex)
        this.acknowledged(batch, result)
      },
      (error: unknown) => { this.sendFailed(batch, error) }
    ).finally(() => {
      batch.inflight = false
      this.inflight--
      if (this.inflight === 0) for (const wake of this.idle.splice(0)) wake()
      this.pump()
    })
  }

  private acknowledged (batch: PendingBatch, result: ClientResult<'send'>): void {
    if (!this.batches.includes(batch) || batch.storedAt !== undefined) return
    if (result.duplicate && batch.attempts > 1 && !batch.mayBeStored) {
      // Every earlier attempt was refused outright, so the node never stored this batch: the
      // "duplicate" is some other batch under our name and sequence ids (previousSequenceId
      // keeps our own later batches out). Never report it as sent.
      this.remove(batch)
      this.failBatch(batch, batch.lastError as Error)
      this.releaseStored()
      return
    }
    this.hold(batch, result.duplicate && batch.storedBefore !== undefined ? batch.storedBefore : result.messageId.index)
  }

  /** Records that a pending batch is stored at `index`, and releases what is settled in order. */
  private hold (batch: PendingBatch, index: number): void {
    if (!this.batches.includes(batch) || batch.storedAt !== undefined) return
    batch.storedAt = index
    if (this.context.faults?.releaseAcksOnArrival === true) {
      // Issue 15 bug 2 put back: reported at once, ahead of earlier batches still open.
      this.remove(batch)
      this.resolveStored(batch, index)
      return
    }
    this.releaseStored()
  }

  /** Reports the stored batches at the head of the queue, in send order. */
  private releaseStored (): void {
    for (let head = this.batches[0]; head?.storedAt !== undefined; head = this.batches[0]) {
      this.batches.shift()
      this.resolveStored(head, head.storedAt)
    }
  }

  /** Reports a batch taken off the queue as stored at log `index`. */
  private resolveStored (batch: PendingBatch, index: number): void {
    batch.messages.forEach((pending, batchIndex) => {
      pending.resolve(new MessageId(this.partition, index, batchIndex))
    })
    this.pendingMessages -= batch.messages.length
    batch.settle()
  }

  /**
   * Before a resend: a batch held behind one whose outcome is open is sent again after it (its
   * first copy stays where it is; with deduplication on the resend is answered as a duplicate
   * and reported at that first copy).
   */
  private resendHeld (): void {
    for (const batch of this.batches) {
      if (batch.storedAt === undefined) continue
      batch.storedBefore = batch.storedAt
      batch.storedAt = undefined
      batch.mayBeStored = true
    }
  }

  private sendFailed (batch: PendingBatch, error: unknown): void {
    // A held batch is known stored (a later batch's answer named it): its own answer is moot.
    if (!this.batches.includes(batch) || batch.storedAt !== undefined) return
    // Our own per-request timeout leaves the outcome unknown, exactly like OUTCOME_UNKNOWN.
    const retryable = isRetryable(error, 'send') || error instanceof TimeoutError
    if (!retryable) {
      this.remove(batch)
      this.failBatch(batch, error as Error)
      this.releaseStored()
      return
    }
    // An out-of-order refusal is a consequence of an earlier batch's failure: keep the cause.
    if (!(error instanceof TimeoutError) && !(error instanceof OutOfOrderSequenceError)) batch.lastError = error
    const refused = error instanceof NotLeaderError || error instanceof ProducerClosedError || error instanceof OutOfOrderSequenceError
    if (!refused) batch.mayBeStored = true
    if (batch.deadline <= this.context.timers.now()) {
      this.expire(batch)
      return
    }
    this.recover()
  }

  /** Stops sending; once nothing is in flight, attaches again and resends in order. */
  private recover (): void {
    if (this.recovering !== undefined || this.state === 'closed') return
    this.recovering = this.reattach().finally(() => {
      this.recovering = undefined
      this.pump()
    })
  }

  private async reattach (): Promise<void> {
    await this.whenIdle()
    // With nothing to send, re-attaching is attempted for operationTimeoutMs; with batches
    // pending, until the oldest one's send timeout.
    const idleDeadline = this.context.timers.now() + this.context.operationTimeoutMs
    for (let attempt = 1; this.state !== 'closed' && !this.context.closed.aborted; attempt++) {
      for (const batch of [...this.batches]) if (batch.storedAt === undefined && batch.deadline <= this.context.timers.now()) this.expire(batch)
      this.resendHeld()
      const deadline = this.batches.length > 0 ? this.batches[0].deadline : idleDeadline
      const remaining = deadline - this.context.timers.now()
      if (this.batches.length === 0 && remaining <= 0) return
      try {
        await this.createOnLeader(Math.min(remaining, this.context.operationTimeoutMs))
        return
      } catch (error) {
        // Our own request timeout (the deadline is near): keep the node's last error for the report.
        if (error instanceof TimeoutError) continue
        if (!isRetryable(error, 'reattach')) {
          for (const batch of this.batches.splice(0)) this.failBatch(batch, error as Error)
          return
        }
        for (const batch of this.batches) batch.lastError = error
      }
      await sleep(this.context.timers, Math.min(retryDelayMs(attempt), Math.max(0, remaining)), this.context.closed).catch(() => {})
    }
  }

  private async createOnLeader (timeoutMs: number): Promise<void> {
    const connection = await this.context.lookup.connectionFor(this.lookupTopic, this.partition, timeoutMs)
    const previous = this.connection
    this.creatingOn = connection.peer
    this.closedWhileCreating = false
    let result: ClientResult<'create-producer'>
    try {
      result = await this.context.pool.request(connection, {
        type: 'create-producer', topic: this.topic, producerId: this.producerId, accessMode: this.settings.accessMode,
        ...(this.name === undefined ? {} : { producerName: this.name })
      }, timeoutMs)
    } finally {
      this.creatingOn = undefined
    }
    if (this.closedWhileCreating) throw this.closedError()
    if (previous !== undefined && previous !== connection && previous.open) {
      this.context.pool.request(previous, { type: 'close-producer', producerId: this.producerId }, timeoutMs).catch(() => {})
    }
    this.connection = connection
    this.name = result.producerName
    this.maxMessageSize = result.maxMessageSize
    this.nextSequenceId = Math.max(this.nextSequenceId, result.lastSequenceId + 1)
    this.detached = false
  }

  private whenIdle (): Promise<void> {
    if (this.inflight === 0) return Promise.resolve()
    return new Promise((resolve) => { this.idle.push(resolve) })
  }

  private expire (batch: PendingBatch): void {
    this.remove(batch)
    this.failBatch(batch, finalError(`send to ${this.topic}`, this.settings.sendTimeoutMs, batch.lastError))
    this.releaseStored()
  }

  private remove (batch: PendingBatch): boolean {
    const at = this.batches.indexOf(batch)
    if (at < 0) return false
    this.batches.splice(at, 1)
    return true
  }

  private failBatch (batch: PendingBatch, error: Error): void {
    this.fail(batch.messages, error)
    batch.settle()
  }

  private fail (messages: PendingMessage[], error: Error): void {
    this.pendingMessages -= messages.length
    for (const pending of messages) pending.reject(error)
  }

  private closedError (): Error {
    return new ProducerClosedError({ topic: this.topic, producerName: this.producerName })
  }
}
