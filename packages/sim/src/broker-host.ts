// The broker hosting layer of the simulator: on every node incarnation a PartitionStateMachine
// (the Raft group's state machine) and a PartitionReplica wired to that incarnation's RaftNode
// (propose, readIndex, leader; leadershipChanged from the Raft observer), and the simulated
// client connections: a request reaches a node after a link delay, waits while it is paused,
// fails with NODE_DOWN if the node is down before it takes the request (definitely not done),
// and with CONNECTION_LOST if the node crashes after taking it (outcome unknown). Replies and
// pushes (deliveries, consumer-closed) travel back over an ordered link; a crashed process
// sends nothing more. The test-only fault `ackBeforeCommit` answers a send as soon as its batch
// is appended to the leader's log instead of once it commits. With dead letters on, each
// replica forwards through the workload's simulated dead-letter topic (`deadLetterSink`); the
// test-only fault `deadLetterFreshSequenceIds` numbers every publish anew, as a forwarder
// without the outbox positions as sequence ids would, so the topic cannot drop a resend.
import type { Env, LogEntry, NodeId } from '@blazar/env'
import type { RaftNode } from '@blazar/raft'
import {
  PartitionReplica, PartitionStateMachine, admitBatch, proposalError, type ConsumerRef, type CursorState, type DeadLetterRecord, type DeadLetterSink
} from '@blazar/broker'
import { PartitionEntryKind, encodePartitionEntry, type ClientResult, type DeliveredEntry, type SubscriptionType } from '@blazar/protocol'
import { NodeDownError, type ApplicationContext, type Cluster, type NodeApplication } from './cluster.ts'
import { chainHash } from './hash.ts'
import { DispatchOracles } from './dispatch-oracles.ts'
import type { QueueOracles, Report } from './queue-oracles.ts'

/** How often the dispatch liveness oracle samples the leaders' stats (virtual ms). */
export const DISPATCH_SAMPLE_INTERVAL_MS = 250

export const BROKER_TOPIC = 'persistent://public/default/sim-partition-0'
/**
 * The forwarder's limits in the simulator: a publish unanswered for as long as a producer's
 * attempt (1.5 s) is sent again, retries at most 1 s apart, so a backlog of dead letters drains
 * within the recovery bound.
 */
export const SIM_DEAD_LETTER_LIMITS = { publishTimeoutMs: 1_500, maxRetryDelayMs: 1_000 }
/** One-way latency of a client link, in virtual ms. */
export const CLIENT_LINK_DELAY_MS = 1

/** Test-only deliberate broker bugs (proof the queue oracles can fail). */
export interface BrokerFaults {
  /** Answer `send` once the batch is proposed (appended on the leader), not once it commits. */
  ackBeforeCommit?: boolean
  /** The dead-letter forwarder publishes with a fresh sequence id per attempt instead of the outbox position (no deduplication of resends). */
  deadLetterFreshSequenceIds?: boolean
}

/** The node crashed after it took the request: the request may or may not have taken effect. */
export class ConnectionLostError extends Error {
  static readonly code = 'CONNECTION_LOST'
  readonly code = ConnectionLostError.code
  constructor (node: NodeId) {
    super(`connection to ${node} lost`)
    this.name = 'ConnectionLostError'
  }
}

/** One node incarnation's partition. */
export interface HostedPartition {
  node: NodeId
  sm: PartitionStateMachine
  replica: PartitionReplica
  raft: RaftNode
  env: Env
  live: () => boolean
  /** Rejections of the requests this incarnation took and has not answered. */
  readonly unanswered: Set<(error: Error) => void>
}

/** What a consumer session receives from the node it subscribed at. */
export interface SessionHandler {
  /** The subscription the session's consumer belongs to (for the dispatch oracles). */
  subscription: string
  type: SubscriptionType
  messages (node: NodeId, entries: DeliveredEntry[]): void
  closed (node: NodeId, reason: string): void
}

export interface BrokerHostOptions {
  oracles: QueueOracles
  /** Where the dispatch oracles report. */
  report: Report
  faults?: BrokerFaults
  retentionCheckIntervalMs: number
  record: (line: string) => void
  /** The replicas forward dead letters (to `BrokerHost.deadLetterSink`, set by the workload). */
  deadLetters?: boolean
}

export class BrokerHost {
  private readonly options: BrokerHostOptions
  private readonly oracles: QueueOracles
  private clusterRef: Cluster | null = null
  private readonly hosted = new Map<NodeId, HostedPartition>()
  private readonly sessions = new Map<number, SessionHandler>()
  /** Every consumer id's subscription, kept after its session ends: the oracles count pushes to sessions gone too. */
  private readonly subscriptionOf = new Map<number, { subscription: string, type: SubscriptionType }>()
  private readonly dispatchOracles: DispatchOracles
  private sampling = false
  /** Called when a node crashes: its client connections are gone. */
  onConnectionsLost: (node: NodeId) => void = () => {}
  /** The simulated dead-letter topic the leaders forward to (with `deadLetters`). */
  deadLetterSink: DeadLetterSink | null = null
  private freshSequenceIds = 0

  constructor (options: BrokerHostOptions) {
    this.options = options
    this.oracles = options.oracles
    this.dispatchOracles = new DispatchOracles(options.report)
  }

  /** Samples every live, running leader's dispatch stats every DISPATCH_SAMPLE_INTERVAL_MS (the dispatch liveness oracle). */
  startSampling (): void {
    if (this.sampling) return
    this.sampling = true
    const sample = (): void => {
      for (const [node, hosted] of this.hosted) {
        const running = hosted.live() && this.cluster.nodes.get(node)?.runtime.state === 'up' && hosted.replica.isLeading
        if (!running) {
          this.dispatchOracles.forget(node)
          continue
        }
        const now = hosted.env.clock.now()
        for (const name of [...hosted.sm.subscriptions().map((cursor) => cursor.subscription), ...hosted.replica.readers()]) {
          this.dispatchOracles.sampled(node, name, hosted.replica.subscriptionStats(name), now)
        }
      }
      this.cluster.clock.setTimer(DISPATCH_SAMPLE_INTERVAL_MS, sample)
    }
    this.cluster.clock.setTimer(DISPATCH_SAMPLE_INTERVAL_MS, sample)
  }

  attach (cluster: Cluster): void {
    this.clusterRef = cluster
  }

  private get cluster (): Cluster {
    if (this.clusterRef === null) throw new Error('BrokerHost used before attach()')
    return this.clusterRef
  }

  /** The live incarnation's partition on `node`, if it is up. */
  partition (node: NodeId): HostedPartition | undefined {
    return this.hosted.get(node)
  }

  registerSession (consumerId: number, handler: SessionHandler): void {
    this.sessions.set(consumerId, handler)
    this.subscriptionOf.set(consumerId, { subscription: handler.subscription, type: handler.type })
  }

  forgetSession (consumerId: number): void {
    this.sessions.delete(consumerId)
  }

  /** The cluster's application factory: hosts the partition on one incarnation. */
  readonly application = (context: ApplicationContext): NodeApplication => {
    const id = context.node.id
    const storage = context.node.storage
    const sm = new PartitionStateMachine({
      topic: BROKER_TOPIC, partition: 0, logger: context.env.logger, readLog: (from, to, maxBytes) => storage.read(from, to, maxBytes)
    })
    const raft = context.raft
    const replica = new PartitionReplica({
      env: context.env,
      sm,
      self: id,
      propose: (data, kind) => raft.propose(data, kind),
      readIndex: () => raft.readIndex(),
      leader: () => raft.status().leader,
      deliver: (consumer, entries) => {
        if (!context.live()) return
        const session = this.subscriptionOf.get(consumer.consumerId)
        if (session !== undefined) this.dispatchOracles.pushed(id, session.subscription, session.type, entries, context.env.clock.now())
        this.push(id, consumer, (receiver) => receiver.messages(id, entries))
      },
      consumerClosed: (consumer, reason) => { if (context.live()) this.push(id, consumer, (session) => session.closed(id, reason)) },
      retentionCheckIntervalMs: this.options.retentionCheckIntervalMs,
      ...(this.options.deadLetters === true ? { deadLetterSink: { publish: (record) => this.forwardDeadLetter(id, context, record) }, deadLetterLimits: SIM_DEAD_LETTER_LIMITS } : {})
    })
    const hosted: HostedPartition = { node: id, sm, replica, raft, env: context.env, live: context.live, unanswered: new Set() }
    this.hosted.set(id, hosted)
    this.oracles.replicaReset(id)
    return {
      stateMachine: {
        apply: (entry) => {
          const before = sm.appliedIndex
          sm.apply(entry)
          // Entries a restored snapshot already held are skipped by the state machine: no new state to check.
          if (entry.index > before && context.live()) this.applied(hosted, entry, context)
        },
        snapshot: () => sm.snapshot(),
        compactableIndex: () => sm.compactableIndex(),
        restore: (data, meta) => {
          sm.restore(data, meta)
          if (context.live()) this.oracles.replicaReset(id)
        }
      },
      roleChanged: (role) => replica.leadershipChanged(role === 'leader'),
      crashed: () => {
        if (this.hosted.get(id) === hosted) this.hosted.delete(id)
        const lost = new ConnectionLostError(id)
        for (const reject of [...hosted.unanswered]) reject(lost)
        hosted.unanswered.clear()
        this.onConnectionsLost(id)
      }
    }
  }

  /**
   * A client request to `node`'s partition. Rejects with NodeDownError when the node is down
   * before it takes the request, ConnectionLostError when it crashes after.
   */
  request<T> (node: NodeId, work: (partition: HostedPartition) => T | Promise<T>): Promise<T> {
    const simNode = this.cluster.node(node)
    const clock = this.cluster.clock
    return new Promise<T>((resolve, reject) => {
      if (simNode.runtime.state === 'crashed') {
        reject(new NodeDownError(node))
        return
      }
      simNode.waiting.add(reject)
      clock.setTimer(CLIENT_LINK_DELAY_MS, () => {
        if (!simNode.waiting.has(reject)) return
        simNode.runtime.deliver(() => {
          simNode.waiting.delete(reject)
          const partition = this.hosted.get(node)
          if (partition === undefined || !partition.live()) {
            reject(new NodeDownError(node))
            return
          }
          partition.unanswered.add(reject)
          const answer = (settle: () => void): void => {
            // A crashed process answers nothing: the client already saw the connection drop.
            if (!partition.unanswered.delete(reject)) return
            clock.setTimer(CLIENT_LINK_DELAY_MS, settle)
          }
          let pending: Promise<T>
          try {
            pending = Promise.resolve(work(partition))
          } catch (error) {
            pending = Promise.reject(error)
          }
          pending.then((value) => answer(() => resolve(value)), (error: unknown) => answer(() => reject(error)))
        })
        if (simNode.runtime.state === 'crashed' && simNode.waiting.delete(reject)) reject(new NodeDownError(node))
      })
    })
  }

  /** The leader-side send path (PartitionReplica.send), or the faulty one under ackBeforeCommit. */
  send (partition: HostedPartition, batch: unknown): Promise<ClientResult<'send'>> {
    if (this.options.faults?.ackBeforeCommit !== true || !partition.replica.isLeading) return partition.replica.send(batch)
    const entry = admitBatch(batch, partition.sm.partitionConfig, partition.env.clock.now())
    const { kind, data } = encodePartitionEntry(entry)
    const before = partition.raft.status().lastIndex
    const committed = partition.raft.propose(data, kind)
    const index = partition.raft.status().lastIndex
    if (index === before) return committed.then(() => { throw new Error('proposal resolved without an append') }, (error: unknown) => { throw proposalError(error, BROKER_TOPIC) })
    committed.catch(() => {})
    const { firstSequenceId, lastSequenceId } = entry.body
    return Promise.resolve({ firstSequenceId, lastSequenceId, messageId: { partition: 0, index, batchIndex: 0 }, duplicate: false })
  }

  /** A leader's dead-letter publish reaches the simulated topic; a crashed incarnation's answer is lost. */
  private forwardDeadLetter (node: NodeId, context: ApplicationContext, record: DeadLetterRecord): Promise<void> {
    const sink = this.deadLetterSink
    if (sink === null) return Promise.reject(new Error('no dead-letter topic in this workload'))
    const sent = this.options.faults?.deadLetterFreshSequenceIds === true ? { ...record, sequenceId: ++this.freshSequenceIds } : record
    this.options.record(`dlq publish ${sent.producerName}#${sent.sequenceId} @${node}`)
    return new Promise<void>((resolve, reject) => {
      sink.publish(sent).then(() => { if (context.live()) resolve() }, (error: unknown) => { if (context.live()) reject(error) })
    })
  }

  private push (node: NodeId, consumer: ConsumerRef, receive: (session: SessionHandler) => void): void {
    this.cluster.clock.setTimer(CLIENT_LINK_DELAY_MS, () => {
      const session = this.sessions.get(consumer.consumerId)
      if (session !== undefined) receive(session)
      else this.options.record(`push to closed consumer ${consumer.consumerId} from ${node}`)
    })
  }

  private applied (hosted: HostedPartition, entry: LogEntry, context: ApplicationContext): void {
    this.oracles.entryApplied(entry)
    if (entry.kind === 0) return
    const cursors = hosted.sm.subscriptions()
    if (entry.kind === PartitionEntryKind.cursor || entry.kind === PartitionEntryKind.subscription) this.oracles.cursorsApplied(hosted.node, entry.index, cursors)
    context.stateReached(entry.index, stateDigest(hosted.sm, cursors))
  }
}

/** Digest of what every replica must agree on after an index: cursors, trim point, totals, the dead-letter outbox. */
function stateDigest (sm: PartitionStateMachine, cursors: readonly CursorState[]): number {
  const stats = sm.stats()
  let digest = chainHash(chainHash(sm.appliedIndex, sm.firstRetainedIndex), chainHash(stats.messagesIn, stats.retainedMessages))
  for (const cursor of cursors) {
    digest = chainHash(digest, chainHash(cursor.markDelete, cursor.generation))
    for (const [from, to] of cursor.ackedRanges) digest = chainHash(digest, chainHash(from, to))
  }
  // Only outboxes with entries are chained: runs without dead letters keep their digests.
  for (const entry of sm.deadLetterOutbox()) digest = chainHash(digest, chainHash(entry.position, chainHash(entry.index, entry.batchIndex)))
  return digest
}
