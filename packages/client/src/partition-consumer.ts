// A consumer on one partition (or a non-partitioned topic): subscribe, grant flow permits,
// decode pushed batches into the shared receiver queue, acknowledge and redeliver. When the
// node closes it (consumer-closed push) or its connection is lost, it drops its not-yet-
// received messages, looks the topic up again, subscribes again with the same handle and
// grants the whole receiver queue again; unacknowledged messages come back (at-least-once).
// A flow the node refuses with CONSUMER_CLOSED is treated like that push.
// A seek or a reader's start point drops what arrives before it (see start-point.ts).
import {
  ConsumerClosedError, MessageId, TimeoutError, type CursorPosition, type DeliveredEntry, type InitialPosition, type SubscriptionType
} from '@blazar/protocol'
import type { ClientLink } from './client-transport.ts'
import type { ClientContext } from './context.ts'
import { messagesOf, type Message } from './message.ts'
import { PermitTracker } from './permits.ts'
import type { QueueOwner, ReceiverQueue } from './receiver-queue.ts'
import { ConnectionFailedError, isRetryable } from './errors.ts'
import { RETRY_MAX_DELAY_MS, retryDelayMs, withRetries } from './retry.ts'
import { admits, type StartPoint } from './start-point.ts'
import { sleep } from './timers.ts'

export interface SubscriptionSettings {
  subscription: string
  subscriptionType: SubscriptionType
  initialPosition: InitialPosition
  consumerName?: string
  /** Permits this partition grants (its share of the receiver queue). */
  receiverQueueSize: number
  /** false for a reader: the subscription lives in the leader's memory only. */
  durable: boolean
  /** Pulsar readCompacted: the compacted view up to its horizon, then the log. */
  readCompacted?: boolean
}

type State = 'attached' | 'detached' | 'closed'

/** A subscribe request in flight and what happened to its handle meanwhile. */
interface SubscribeInFlight {
  connection: ClientLink
  /** Settles with whether the node attached the handle (the subscribe succeeded). */
  answered: Promise<boolean>
  /** A consumer-closed push came on its connection before the answer (leadership moved). */
  closedByNode: boolean
}

export class PartitionConsumer implements QueueOwner {
  readonly topic: string
  readonly partition: number
  readonly consumerId: number
  private readonly context: ClientContext
  private readonly settings: SubscriptionSettings
  private readonly lookupTopic: string
  private readonly queue: ReceiverQueue
  private readonly permits: PermitTracker
  private connection: ClientLink | undefined
  private state: State = 'detached'
  private resubscribing: Promise<void> | undefined
  /** Messages before it are dropped on arrival; a non-durable subscription starts there. */
  private start: StartPoint | undefined
  /** The subscribe in flight, if any. */
  private attaching: SubscribeInFlight | undefined
  /** Entries that did not decode (skipped; their permits are granted again). */
  undecodable = 0
  /** Times this consumer subscribed again after a server close or a lost connection. */
  resubscribes = 0

  constructor (options: {
    context: ClientContext, settings: SubscriptionSettings, lookupTopic: string, topic: string, partition: number, queue: ReceiverQueue, start?: StartPoint
  }) {
    this.context = options.context
    this.settings = options.settings
    this.lookupTopic = options.lookupTopic
    this.topic = options.topic
    this.partition = options.partition
    this.queue = options.queue
    this.consumerId = options.context.nextHandle()
    this.permits = new PermitTracker(options.settings.receiverQueueSize)
    this.start = options.start
  }

  /** The PeerId of the node this consumer is subscribed through, if subscribed. */
  get peer (): string | undefined {
    return this.state === 'attached' ? this.connection?.peer : undefined
  }

  get connected (): boolean {
    return this.state === 'attached' && this.connection?.open === true
  }

  /** The first subscribe: retried on NOT_LEADER and broken connections until operationTimeoutMs. */
  async attach (): Promise<void> {
    const timeoutMs = this.context.operationTimeoutMs
    await withRetries({
      operation: `subscribe to ${this.topic}`, scope: 'attach', timers: this.context.timers,
      deadline: this.context.timers.now() + timeoutMs, timeoutMs, signal: this.context.closed
    }, async (remainingMs) => { await this.subscribe(remainingMs) })
  }

  /** A push of committed batches for this consumer, on connection `peer`. */
  delivered (peer: string, entries: readonly DeliveredEntry[]): void {
    if (peer !== this.peer) return // from a session this consumer already left
    const messages: Message[] = []
    let charged = 0
    for (const entry of entries) {
      charged += entry.batch.messageCount
      try {
        messages.push(...messagesOf(entry, { topic: this.topic, partition: this.partition, codecs: this.context.codecs }))
      } catch {
        this.undecodable++
      }
    }
    // Permits the node charged for messages the application will never take (undecodable,
    // acknowledged inside the batch already, before the start point) are granted again.
    const admitted = messages.filter((message) => admits(this.start, message.messageId))
    if (charged > admitted.length) this.took(charged - admitted.length)
    const overflow = this.queue.push(this, admitted)
    // Only a node that ignores the permits fills the queue past its size: hand those back.
    if (overflow.length > 0) this.redeliver(overflow.map((message) => message.messageId))
  }

  took (n: number): void {
    const grant = this.permits.took(n)
    const connection = this.connection
    if (grant > 0 && this.state === 'attached' && connection !== undefined) {
      this.context.pool.request(connection, { type: 'flow', consumerId: this.consumerId, permits: grant }, this.context.operationTimeoutMs).catch((error: unknown) => {
        // The node no longer holds this consumer (its attachment ended and the consumer-closed
        // push did not arrive): these permits reached no one, so nothing would ever be
        // delivered again. Subscribe again, which grants the whole queue.
        if (error instanceof ConsumerClosedError) this.serverClosed(connection.peer)
      })
    }
  }

  /** A consumer-closed push on connection `peer`. */
  serverClosed (peer: string): void {
    if (peer === this.peer) this.detach()
    else if (this.attaching !== undefined && peer === this.attaching.connection.peer) this.attaching.closedByNode = true
  }

  /** The node closed this consumer or its connection was lost: subscribe again (retried until closed). */
  detach (): void {
    if (this.state === 'closed') return
    this.state = 'detached'
    this.queue.removeOwner(this)
    this.resubscribing ??= this.resubscribe().finally(() => { this.resubscribing = undefined })
  }

  async acknowledge (ids: readonly MessageId[], ackType: 'Individual' | 'Cumulative'): Promise<void> {
    const connection = this.attachedConnection()
    if (connection === undefined) return // re-subscribing: the node redelivers what was not acknowledged
    try {
      await this.context.pool.request(connection, {
        type: 'ack', consumerId: this.consumerId, ackType, messageIds: ids.map((id) => id.toData())
      }, this.context.operationTimeoutMs)
    } catch (error) {
      // The attachment ended under the ack (connection lost, leadership moved): as while
      // re-subscribing, the ack is dropped and the new leader redelivers from the replicated cursor.
      if (this.state === 'closed' || !isRetryable(error, 'attach')) throw error
    }
  }

  /**
   * The broker-side dead-letter path (client protocol `dead-letter`): the partition
   * acknowledges `ids` and forwards them to `deadLetterTopic` exactly once. Rejects when not
   * attached, and with UnsupportedOperationError where the node forwards no dead letters.
   */
  async deadLetter (ids: readonly MessageId[], deadLetterTopic: string): Promise<void> {
    const connection = this.attachedConnection()
    if (connection === undefined) throw new ConsumerClosedError({ topic: this.topic, subscription: this.settings.subscription })
    await this.context.pool.request(connection, {
      type: 'dead-letter', consumerId: this.consumerId, messageIds: ids.map((id) => id.toData()), deadLetterTopic
    }, this.context.operationTimeoutMs)
  }

  redeliver (ids: readonly MessageId[]): void {
    const connection = this.attachedConnection()
    if (connection === undefined) return
    this.context.pool.request(connection, {
      type: 'redeliver', consumerId: this.consumerId, messageIds: ids.map((id) => id.toData())
    }, this.context.operationTimeoutMs).catch(() => {})
  }

  /** A reader moved past `id`: a re-subscribe starts after it. */
  resumeAfter (id: MessageId): void {
    this.start = { id, inclusive: false }
  }

  /**
   * Moves the subscription to `position` (`start`: drop what arrives before it). The messages
   * queued before the seek are dropped (their permits granted again) as it is sent: the node
   * pushes from the new position before it answers.
   */
  async seek (position: CursorPosition, start: StartPoint | undefined): Promise<void> {
    const connection = this.attachedConnection()
    if (connection === undefined) throw new ConnectionFailedError({ addresses: 0, reason: `${this.topic} is re-subscribing; seek again` })
    this.start = start
    const dropped = this.queue.removeOwner(this)
    if (dropped > 0) this.took(dropped)
    await this.context.pool.request(connection, { type: 'seek', consumerId: this.consumerId, position }, this.context.operationTimeoutMs)
  }

  /**
   * Pulsar GET_LAST_MESSAGE_ID: the partition's last stored message ((partition, 0, -1) when it
   * has none) and the subscription's mark-delete position at the leader. Waits for a
   * re-subscribe in progress; retried on NOT_LEADER and the like until operationTimeoutMs.
   */
  async lastMessageId (): Promise<{ lastMessageId: MessageId, markDeletePosition: MessageId }> {
    const timeoutMs = this.context.operationTimeoutMs
    return await withRetries({
      operation: `get the last message id of ${this.topic}`, scope: 'read', timers: this.context.timers,
      deadline: this.context.timers.now() + timeoutMs, timeoutMs, signal: this.context.closed
    }, async (remainingMs) => {
      if (this.resubscribing !== undefined) await this.resubscribing
      const connection = this.attachedConnection()
      if (connection === undefined) throw new ConsumerClosedError({ topic: this.topic, subscription: this.settings.subscription })
      const reply = await this.context.pool.request(connection, { type: 'get-last-message-id', consumerId: this.consumerId }, remainingMs)
      const id = (data: { index: number, batchIndex: number }): MessageId => new MessageId(this.partition, data.index, data.batchIndex)
      return { lastMessageId: id(reply.lastMessageId), markDeletePosition: id(reply.markDeletePosition) }
    })
  }

  async close (kind: 'close-consumer' | 'unsubscribe'): Promise<void> {
    const connection = this.attachedConnection()
    if (kind === 'unsubscribe') {
      if (connection === undefined) throw new ConsumerClosedError({ topic: this.topic, subscription: this.settings.subscription })
      await this.context.pool.request(connection, { type: 'unsubscribe', consumerId: this.consumerId }, this.context.operationTimeoutMs)
    }
    const attaching = this.attaching
    this.state = 'closed'
    if (kind !== 'close-consumer') return
    // Closed while a (re-)subscribe was in flight: once the node answers it, the handle is
    // attached there and is closed like an attached one (a timed-out one subscribe() closes).
    const target = connection ?? (attaching !== undefined && await attaching.answered ? attaching.connection : undefined)
    if (target !== undefined) {
      await this.context.pool.request(target, { type: 'close-consumer', consumerId: this.consumerId }, this.context.operationTimeoutMs).catch(() => {})
    }
  }

  /** A getter, so that a check after an await reads the state anew (close() may run meanwhile). */
  private get isClosed (): boolean {
    return this.state === 'closed'
  }

  private attachedConnection (): ClientLink | undefined {
    return this.state === 'attached' ? this.connection : undefined
  }

  private async resubscribe (): Promise<void> {
    for (let attempt = 1; this.state === 'detached' && !this.context.closed.aborted; attempt++) {
      try {
        await this.subscribe(this.context.operationTimeoutMs)
        this.resubscribes++
        return
      } catch {
        // Retried until the consumer closes, as Pulsar's consumers reconnect forever.
      }
      await sleep(this.context.timers, Math.min(retryDelayMs(attempt), RETRY_MAX_DELAY_MS), this.context.closed).catch(() => {})
    }
  }

  private async subscribe (timeoutMs: number): Promise<void> {
    const connection = await this.context.lookup.connectionFor(this.lookupTopic, this.partition, timeoutMs)
    const settings = this.settings
    if (this.isClosed) throw new ConsumerClosedError({ topic: this.topic, subscription: settings.subscription })
    let attempt: SubscribeInFlight | undefined
    try {
      const request = this.context.pool.request(connection, {
        type: 'subscribe', topic: this.topic, subscription: settings.subscription, consumerId: this.consumerId,
        subscriptionType: settings.subscriptionType, initialPosition: settings.initialPosition, durable: settings.durable,
        ...(settings.consumerName === undefined ? {} : { consumerName: settings.consumerName }),
        ...(settings.readCompacted === true ? { readCompacted: true } : {}),
        ...(settings.durable || this.start === undefined ? {} : { startMessageId: this.start.id.toData(), startMessageIdInclusive: this.start.inclusive })
      }, timeoutMs)
      attempt = { connection, answered: request.then(() => true, () => false), closedByNode: false }
      this.attaching = attempt
      await request
    } catch (error) {
      // As Pulsar's Java client does: a subscribe left unanswered may still attach at the node,
      // where it would hold permits and messages nobody reads. Close the handle there (awaited,
      // so the close is handled before a retry subscribes it again).
      if (error instanceof TimeoutError && connection.open) {
        await this.context.pool.request(connection, { type: 'close-consumer', consumerId: this.consumerId }, this.context.operationTimeoutMs).catch(() => {})
      }
      throw error
    } finally {
      this.attaching = undefined
    }
    if (attempt.closedByNode) throw new ConsumerClosedError({ topic: this.topic, subscription: settings.subscription })
    // Closed while the subscribe was in flight: close() closes the handle at the node.
    if (this.isClosed) return
    this.connection = connection
    this.state = 'attached'
    await this.context.pool.request(connection, { type: 'flow', consumerId: this.consumerId, permits: this.permits.reset() }, timeoutMs)
  }
}
