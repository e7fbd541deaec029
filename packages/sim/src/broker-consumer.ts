// A simulated consumer of one subscription (Exclusive or Shared): it subscribes at the node it
// believes leads (following NOT_LEADER hints; a subscribe with no answer in time is abandoned
// and its consumer closed), grants flow permits (a receiver queue, topped up at half), takes
// each pushed batch in order after a processing delay and acknowledges it individually
// (every message of the batch), cumulatively (Exclusive) or asks for redelivery (a negative
// ack, now and then). When the broker closes its consumer (leadership moved) or the connection
// drops (the node crashed), it drops what it holds and subscribes again. Pushes to an earlier
// session are ignored. Everything it receives goes to the queue oracles.
// Two features for their scenarios: with a dead-letter topic, a batch it would negatively
// acknowledge (a poison message always) is handed to the broker's dead-letter path (which
// acknowledges it and forwards it to the dead-letter topic) once the client's policy says its
// redeliveries are exhausted; with a seek interval (Exclusive), it
// now and then seeks back to a batch it received (inclusive of it or not), retries the seek
// until it is answered (the same position: an unanswered seek may still have been applied),
// then closes its consumer and subscribes again, as Pulsar's broker closes consumers on a seek.
import type { NodeId, Random, VirtualClock } from '@blazar/env'
import type { DeliveredEntry, MessageIdData, SubscriptionType } from '@blazar/protocol'
import type { BrokerHost } from './broker-host.ts'
import type { DeadLetterTopic } from './dead-letter-oracle.ts'
import type { QueueOracles } from './queue-oracles.ts'
import { sendKey, type SubscriptionRecord } from './queue-records.ts'

/** What the simulated clients share: the clock, the hosting layer, the oracles, the trace. */
export interface BrokerClients {
  clock: VirtualClock
  host: BrokerHost
  oracles: QueueOracles
  record: (line: string) => void
  anyNode: (random: Random) => NodeId
  isNode: (id: string) => boolean
  nextConsumerId: () => number
}

export interface ConsumerOptions {
  /** Flow permits granted per session (Pulsar receiverQueueSize), topped up at half. */
  receiverQueue: number
  /** Processing time of one batch, uniform in [min, max) ms. */
  processMs: [number, number]
  /** A subscribe attempt is abandoned after this long. */
  subscribeTimeoutMs: number
  /** Pause before subscribing again, uniform in [min, max) ms. */
  retryBackoffMs: [number, number]
  /** Share of cumulative acks (Exclusive) and of negative acks among processed batches. */
  cumulativeAckRatio: number
  negativeAckRatio: number
}

/** What one consumer does beyond consuming (the dead-letter and seek scenarios). */
export interface ConsumerFeatures {
  deadLetters?: DeadLetterTopic
  /** Pause between two seeks, uniform in [min, max) ms (Exclusive). */
  seekIntervalMs?: [number, number]
}

/**
 * How far back a seek goes, at most, in batches received: replaying more than the consumer can
 * catch up with between seeks would keep it behind for good (and past the drain bound).
 */
export const MAX_SEEK_BACK_BATCHES = 30

/** A seek back to batch `index`: delivery starts there (`inclusive`) or after it. */
interface Seek {
  index: number
  inclusive: boolean
  inFlight: boolean
}

interface Session {
  consumerId: number
  node: NodeId
  /** Permits granted and not yet used up by processed messages. */
  processedSinceFlow: number
}

export class Consumer {
  readonly name: string
  readonly subscription: SubscriptionRecord
  private readonly type: SubscriptionType
  private readonly clients: BrokerClients
  private readonly random: Random
  private readonly options: ConsumerOptions
  private session: Session | null = null
  private subscribing = false
  private leaderHint: NodeId | null = null
  private readonly inbox: DeliveredEntry[] = []
  private processing = false
  private features: ConsumerFeatures
  /** The seek not answered yet, if any: nothing is consumed meanwhile. */
  private pendingSeek: Seek | null = null
  private seeksStopped = false
  /** Subscribed at least once (the subscription exists in the log). */
  subscribedOnce = false

  constructor (name: string, subscription: SubscriptionRecord, clients: BrokerClients, random: Random, options: ConsumerOptions, features: ConsumerFeatures = {}) {
    this.name = name
    this.subscription = subscription
    this.type = subscription.type
    this.clients = clients
    this.random = random
    this.options = options
    this.features = features
  }

  /** Dead-letters through the broker from now on (set before start). */
  useDeadLetters (deadLetters: DeadLetterTopic): void {
    this.features = { ...this.features, deadLetters }
  }

  get connectedTo (): NodeId | null {
    return this.session?.node ?? null
  }

  start (): void {
    this.subscribe()
    this.scheduleSeek()
  }

  /** No new seeks (the recovery phase); one not answered yet is still retried. */
  stopSeeking (): void {
    this.seeksStopped = true
  }

  /** The node crashed: a session there is gone. */
  connectionLost (node: NodeId): void {
    if (this.session?.node === node) this.sessionEnded('connection lost')
  }

  private subscribe (): void {
    if (this.subscribing || this.session !== null) return
    this.subscribing = true
    const clients = this.clients
    const consumerId = clients.nextConsumerId()
    const target = this.leaderHint ?? clients.anyNode(this.random)
    clients.record(`subscribe ${this.name} c${consumerId} @${target}`)
    clients.host.registerSession(consumerId, {
      subscription: this.subscription.name,
      type: this.type,
      messages: (node, entries) => this.received(consumerId, node, entries),
      closed: (node, reason) => {
        if (this.session?.consumerId === consumerId) this.sessionEnded(`closed by ${node}: ${reason}`)
      }
    })
    let answered = false
    const timer = clients.clock.setTimer(this.options.subscribeTimeoutMs, () => {
      if (answered) return
      answered = true
      clients.record(`subscribe ${this.name} c${consumerId} timeout`)
      this.abandon(consumerId, target)
      this.leaderHint = null
      this.retrySubscribe()
    })
    clients.host.request(target, (partition) => partition.replica.subscribe({
      subscription: this.subscription.name, type: this.type, initialPosition: 'Earliest', consumer: { consumerId, consumerName: this.name }
    })).then(() => {
      if (answered) return
      answered = true
      clients.clock.clearTimer(timer)
      this.subscribing = false
      this.subscribedOnce = true
      this.leaderHint = target
      this.session = { consumerId, node: target, processedSinceFlow: 0 }
      clients.record(`subscribed ${this.name} c${consumerId} @${target}`)
      if (this.pendingSeek !== null) this.seek(this.pendingSeek)
      else this.call((partition) => partition.replica.flow(consumerId, this.options.receiverQueue))
    }, (error: unknown) => {
      if (answered) return
      answered = true
      clients.clock.clearTimer(timer)
      clients.host.forgetSession(consumerId)
      const code = (error as { code?: string } | null)?.code ?? 'ERROR'
      const hint = (error as { details?: { leaderHint?: unknown } } | null)?.details?.leaderHint
      this.leaderHint = typeof hint === 'string' && clients.isNode(hint) ? hint : null
      clients.record(`subscribe ${this.name} c${consumerId} ${code}${this.leaderHint === null ? '' : ` -> ${this.leaderHint}`}`)
      // It may have attached before the error (e.g. the connection dropped after): close it.
      if (code === 'CONNECTION_LOST' || code === 'OUTCOME_UNKNOWN') this.abandon(consumerId, target)
      this.retrySubscribe()
    })
  }

  private retrySubscribe (): void {
    this.subscribing = false
    const [min, max] = this.options.retryBackoffMs
    this.clients.clock.setTimer(this.random.int(min, max), () => this.subscribe())
  }

  /** Gives up on a consumer id: pushes to it are ignored and the broker is told to close it. */
  private abandon (consumerId: number, node: NodeId): void {
    this.clients.host.forgetSession(consumerId)
    this.clients.host.request(node, (partition) => partition.replica.closeConsumer(consumerId)).catch(() => {})
  }

  private sessionEnded (why: string): void {
    const session = this.session
    if (session === null) return
    this.clients.record(`session ${this.name} c${session.consumerId} ended: ${why}`)
    this.clients.host.forgetSession(session.consumerId)
    this.session = null
    this.inbox.length = 0
    this.leaderHint = null
    this.retrySubscribe()
  }

  private received (consumerId: number, node: NodeId, entries: DeliveredEntry[]): void {
    if (this.session?.consumerId !== consumerId || this.pendingSeek !== null) {
      this.clients.record(`${this.pendingSeek === null ? 'stale' : 'seeking:'} push to ${this.name} c${consumerId} from ${node}`)
      return
    }
    for (const entry of entries) {
      this.clients.record(`recv ${this.name} c${consumerId} ${entry.messageId.index} ${entry.batch.producerName}#${entry.batch.firstSequenceId} r${entry.redeliveryCount}`)
      this.clients.oracles.delivered(this.subscription, this.name, entry)
      this.inbox.push(entry)
    }
    this.processNext()
  }

  private processNext (): void {
    if (this.processing || this.inbox.length === 0) return
    this.processing = true
    const [min, max] = this.options.processMs
    this.clients.clock.setTimer(this.random.int(min, max), () => {
      this.processing = false
      const entry = this.inbox.shift()
      const session = this.session
      if (entry !== undefined && session !== null) this.settle(session, entry)
      this.processNext()
    })
  }

  private settle (session: Session, entry: DeliveredEntry): void {
    const index = entry.messageId.index
    const count = entry.batch.messageCount
    const consumerId = session.consumerId
    const draw = this.random.next()
    const deadLetters = this.features.deadLetters
    const rejected = draw < this.options.negativeAckRatio || (deadLetters !== undefined && this.isPoison(entry))
    if (rejected && deadLetters?.due(entry) === true) {
      // The broker-side dead-letter path: one replicated entry acknowledges it and queues it for the dead-letter topic.
      this.clients.record(`dead-letter ${this.name} c${consumerId} ${index} r${entry.redeliveryCount}`)
      deadLetters.requestedBy(this.subscription.name, this.name, entry)
      this.subscription.acked.add(index)
      this.requestDeadLetter(session, index)
    } else if (rejected) {
      this.clients.record(`nack ${this.name} c${consumerId} ${index}`)
      const ids = [entry.messageId]
      this.call((partition) => partition.replica.redeliver(consumerId, this.type === 'Shared' ? ids : undefined))
    } else if (this.type === 'Exclusive' && draw < this.options.negativeAckRatio + this.options.cumulativeAckRatio) {
      this.clients.record(`ack-cumulative ${this.name} c${consumerId} ${index}`)
      this.subscription.cumulativeTo = Math.max(this.subscription.cumulativeTo, index)
      const id: MessageIdData = { partition: 0, index, batchIndex: count - 1 }
      this.call((partition) => partition.replica.acknowledge(consumerId, 'Cumulative', [id]))
    } else {
      this.clients.record(`ack ${this.name} c${consumerId} ${index}`)
      this.subscription.acked.add(index)
      const ids: MessageIdData[] = Array.from({ length: count }, (_, batchIndex) => ({ partition: 0, index, batchIndex }))
      this.call((partition) => partition.replica.acknowledge(consumerId, 'Individual', ids))
    }
    session.processedSinceFlow += count
    if (session.processedSinceFlow >= this.options.receiverQueue / 2) {
      const permits = session.processedSinceFlow
      session.processedSinceFlow = 0
      this.call((partition) => partition.replica.flow(consumerId, permits))
    }
  }

  private isPoison (entry: DeliveredEntry): boolean {
    return this.clients.oracles.sends.get(sendKey(entry.batch.producerName, entry.batch.firstSequenceId))?.poison === true
  }

  private scheduleSeek (): void {
    const interval = this.features.seekIntervalMs
    if (interval === undefined || this.seeksStopped) return
    this.clients.clock.setTimer(this.random.int(interval[0], interval[1]), () => {
      const received = this.subscription.highestFirstDelivery
      // Back to a batch already received: everything below it was received too.
      const candidates = this.clients.oracles.storedIndexes.filter((index) => index <= received && this.subscription.delivered.has(index)).slice(-MAX_SEEK_BACK_BATCHES)
      if (this.seeksStopped) return
      if (this.session === null || this.pendingSeek !== null || candidates.length === 0) {
        this.scheduleSeek()
        return
      }
      this.seek({ index: candidates[this.random.int(0, candidates.length)], inclusive: this.random.chance(0.5), inFlight: false })
    })
  }

  /** Sends the seek on the current session; answered, the consumer subscribes again from the reset cursor. */
  private seek (seek: Seek): void {
    const session = this.session
    this.pendingSeek = seek
    this.inbox.length = 0
    if (session === null || seek.inFlight) return
    seek.inFlight = true
    const { consumerId, node } = session
    this.clients.record(`seek ${this.name} c${consumerId} ${seek.inclusive ? 'to' : 'after'} ${seek.index}`)
    const position = { at: 'message' as const, index: seek.index, batchIndex: -1, inclusive: seek.inclusive }
    this.clients.host.request(node, (partition) => partition.replica.seek(consumerId, position)).then(() => {
      seek.inFlight = false
      if (this.pendingSeek !== seek) return
      this.pendingSeek = null
      this.clients.record(`seek ${this.name} c${consumerId} done`)
      this.clients.oracles.seekAnswered(this.subscription, seek.inclusive ? seek.index : seek.index + 1)
      // Whichever session is open (it may be a later one, waiting for the seek) starts over.
      const current = this.session
      if (current !== null) {
        this.abandon(current.consumerId, current.node)
        this.sessionEnded('seek done')
      }
      this.scheduleSeek()
    }, (error: unknown) => {
      seek.inFlight = false
      this.clients.record(`seek ${this.name} c${consumerId} ${(error as { code?: string } | null)?.code ?? 'ERROR'}`)
      if (this.pendingSeek !== seek) return
      const current = this.session
      // No session: the next subscribe sends it again; a later session (waiting for it): sent there.
      if (current === null) return
      if (current.consumerId !== consumerId) {
        this.seek(seek)
        return
      }
      this.abandon(consumerId, node)
      this.sessionEnded('seek failed')
    })
  }

  /**
   * Asks the broker to dead-letter the batch at `index`, again after a failure (a leader
   * refusing proposals during a transfer, an unknown outcome) while the session lasts: unlike
   * an acknowledgement, which the dispatcher retries itself, a refused request leaves the
   * message held by this consumer. Once the session ends the broker redelivers it anyway.
   */
  private requestDeadLetter (session: Session, index: number): void {
    const ids: MessageIdData[] = [{ partition: 0, index, batchIndex: -1 }]
    this.clients.host.request(session.node, (partition) => partition.replica.deadLetter(session.consumerId, ids)).catch((error: unknown) => {
      if (this.session !== session) return
      this.clients.record(`dead-letter ${this.name} c${session.consumerId} ${index} ${(error as { code?: string } | null)?.code ?? 'ERROR'}: again`)
      const [min, max] = this.options.retryBackoffMs
      this.clients.clock.setTimer(this.random.int(min, max), () => { if (this.session === session) this.requestDeadLetter(session, index) })
    })
  }

  /** A fire-and-forget request on the current session (acks, flow, redeliver). */
  private call (work: Parameters<BrokerHost['request']>[1]): void {
    const session = this.session
    if (session === null) return
    this.clients.host.request(session.node, work).catch(() => {})
  }
}
