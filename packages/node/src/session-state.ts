// What the gateway remembers about one client session: its producers and consumers by the
// client's handles, and where each is attached now: a local PartitionReplica (this node
// leads the partition) or a forwarded handle on an upstream connection to the leader's node.
// A session is anything that can take pushes and tell when it closed: a /blazar/client/1
// stream (the transport's ClientSession), a Pulsar protocol connection (src/pulsar/) or the HTTP
// admin session the gateway serves REST requests in (it holds no producer or consumer).
import type { NodeId } from '@blazar/env'
import type { InitialPosition, MessageIdData, ServerPush, SubscriptionType } from '@blazar/protocol'
import type { HostedPartition } from './partition-service.ts'
import type { Upstream } from './upstreams.ts'

/** Producers and consumers one session may hold at a time. */
export const MAX_HANDLES_PER_SESSION = 10_000

export interface ProducerRecord {
  clientId: number
  group: string
  producerName: string
  /** The producer's handle on each upstream node it was forwarded to (valid while that connection is open). */
  upstreams: Map<NodeId, { upstream: Upstream, id: number }>
}

export type ConsumerAttachment =
  | { kind: 'local', internalId: number, partition: HostedPartition }
  | { kind: 'remote', upstream: Upstream, upstreamId: number }

export interface ConsumerRecord {
  clientId: number
  group: string
  subscription: string
  type: SubscriptionType
  initialPosition: InitialPosition
  /** false: a reader (non-durable subscription), starting at `startMessageId` when given. */
  durable: boolean
  startMessageId: MessageIdData | undefined
  startMessageIdInclusive: boolean | undefined
  /** Pulsar readCompacted (readers, Exclusive and Failover subscriptions). */
  readCompacted?: boolean
  consumerName: string
  attachment: ConsumerAttachment | null
  /** The subscribe in flight for this record, if any. */
  attempt: SubscribeAttempt | null
}

/**
 * One subscribe in flight. A close meanwhile, by the client (a close-consumer: it gave up on
 * the subscribe) or by the broker (leadership moved, connection lost), is recorded here and the
 * subscribe answers CONSUMER_CLOSED, detaching whatever it attached: a push could overtake the
 * answer and be ignored, and an attachment made after the client's close would outlive it.
 */
export interface SubscribeAttempt {
  closedReason: string | null
  /**
   * The record this attempt created (null until then). The attempt ends it whatever the
   * session holds by then: a close may have removed it from the session before the attempt
   * attached it (while dialling the leader's node, or between forwarding hops).
   */
  record: ConsumerRecord | null
}

/**
 * The attachment of `record` ended (leadership moved, connection lost). While its subscribe is
 * in flight the client learns it from the subscribe's answer; otherwise it is told with a
 * `consumer-closed` push and the session forgets the record, as a Pulsar broker forgets a
 * consumer it closes: the client subscribes again under the same handle, or, closed meanwhile,
 * sends nothing (a record kept would hold one of the session's MAX_HANDLES_PER_SESSION for
 * good). Answers whether to push.
 */
export function attachmentEnded (state: SessionState, record: ConsumerRecord, reason: string): boolean {
  record.attachment = null
  if (record.attempt !== null) {
    record.attempt.closedReason ??= reason
    return false
  }
  if (state.consumers.get(record.clientId) === record) state.consumers.delete(record.clientId)
  return true
}

/** The client end of one session, as the gateway uses it. */
export interface GatewaySession {
  /** Who is on the other end: a PeerId for libp2p clients (cluster members are recognised by it). */
  readonly peer: string
  readonly open: boolean
  /** Delivers a push; waits while the client cannot take it; rejects once the session is closed. */
  push: (push: ServerPush) => Promise<void>
  onClose: (listener: (error?: Error) => void) => void
}

export class SessionState {
  readonly session: GatewaySession
  readonly producers = new Map<number, ProducerRecord>()
  readonly consumers = new Map<number, ConsumerRecord>()
  /** Subscribes in flight by handle (a close-consumer may arrive before their record exists). */
  readonly subscribeAttempts = new Map<number, SubscribeAttempt>()
  /** Whether the peer is a cluster member (a forwarding node): its requests are never forwarded again. */
  readonly fromMember: boolean

  constructor (session: GatewaySession, fromMember: boolean) {
    this.session = session
    this.fromMember = fromMember
  }

  get handles (): number {
    return this.producers.size + this.consumers.size
  }
}
