// The partitions this node hosts: for every placement in the metadata that names this node, a
// Raft group whose state machine is the partition's PartitionStateMachine, and the
// PartitionReplica that serves producers and consumers while this node leads it. Follows the
// metadata: new placements are opened, deleted topics stop; the leader brings the partition's
// replicated config (dedup, retention, max message size, message TTL, backlog quotas, the
// compaction threshold) in line with its namespace policies and hands leadership to the placement's preferred leader (unless it is marked down), which
// spreads leaders over nodes. While the metadata marks this node down, it hands the leadership
// of what it leads to an active voter it hears from (node-health.ts, downLeaderHandOffs). The
// leader of a group whose placement changed (a replica move) brings its Raft membership to the
// placement (replica-membership.ts); a node that joins a group by a move starts as a learner
// with no membership of its own, and the node a move leaves stops hosting the group once the
// move is reported done (and hands it to `released`: replica-cleanup.ts deletes its data once
// that is safe).
import {
  PartitionReplica, PartitionStateMachine, partitionConfigOf, type ConsumerRef, type DeadLetterSink
} from '@blazar/broker'
import { PULSAR_CODECS } from '@blazar/client'
import type { Env, NodeId, TimerHandle } from '@blazar/env'
import {
  BACKLOG_QUOTA_TYPES, CompressionCodecs, NON_PARTITIONED, UnknownTopicError, encodePartitionEntry, namespaceOf, parseTopicName, type BacklogQuotas, type DeliveredEntry, type PartitionConfig
} from '@blazar/protocol'
import type { RaftNode } from '@blazar/raft'

/** The codecs partitions decompress batches with (compaction reads the keys inside them). */
export const PARTITION_CODECS = new CompressionCodecs(PULSAR_CODECS)
import type { GroupHost } from './group-host.ts'
import type { MetadataService } from './metadata-service.ts'
import { downLeaderHandOffs } from './node-health.ts'
import { PartitionRates } from './partition-rates.ts'
import { ReplicaMembership } from './replica-membership.ts'

/** How long a new leader waits before handing leadership to the preferred leader. */
export const PREFERRED_LEADER_DELAY_MS = 2000

export interface HostedPartition {
  group: string
  raft: RaftNode
  sm: PartitionStateMachine
  replica: PartitionReplica
  rates: PartitionRates
}

export interface PartitionServiceOptions {
  env: Env
  self: NodeId
  host: GroupHost
  metadata: MetadataService
  /** Whether `peer` is reachable now (node-level liveness). */
  isPeerLive: (peer: NodeId) => boolean
  deliver: (consumer: ConsumerRef, entries: DeliveredEntry[]) => void
  consumerClosed: (consumer: ConsumerRef, reason: string) => void
  /** Where the partitions this node leads forward dead letters (the gateway's sink); none: no broker-side dead letters. */
  deadLetterSink?: DeadLetterSink
  /** Reports a replica move's membership change done to the metadata group (ReplicaMembership). */
  reportMoveMatched: (group: string, to: NodeId) => Promise<void>
  /** The node's policy settings (config.ts); absent ones take the broker's defaults. */
  policies?: PartitionPolicySettings
  /** This node stopped hosting `group` because the placement no longer names it (or its topic is gone). */
  released?: (group: string) => void
}

/** How hosted partitions run their policies: the leaders' check intervals and hold time, and the snapshot-after-trim size. */
export interface PartitionPolicySettings {
  retentionCheckIntervalMs?: number
  messageExpiryCheckIntervalMs?: number
  backlogQuotaCheckIntervalMs?: number
  compactionCheckIntervalMs?: number
  backlogQuotaHoldMs?: number
  /** The store's segment size: a partition snapshots once it trimmed this much, so whole segments can be deleted. */
  snapshotAfterTrimmedBytes?: number
}

export class PartitionService {
  private readonly options: PartitionServiceOptions
  private readonly partitions = new Map<string, HostedPartition>()
  private readonly opening = new Set<string>()
  private readonly transferTimers = new Map<string, TimerHandle>()
  /** Groups with a `config` proposal in flight (metadata changes arrive in bursts). */
  private readonly aligning = new Set<string>()
  private readonly membership: ReplicaMembership
  private stopped = false

  constructor (options: PartitionServiceOptions) {
    this.options = options
    this.membership = new ReplicaMembership({
      env: options.env, self: options.self, metadata: options.metadata, isPeerLive: options.isPeerLive, reportMatched: options.reportMoveMatched
    })
    options.metadata.onChange(() => { this.reconcile() })
  }

  get (group: string): HostedPartition | undefined {
    return this.partitions.get(group)
  }

  all (): HostedPartition[] {
    return [...this.partitions.values()]
  }

  /** Whether this node hosts the group or is opening it. */
  hosts (group: string): boolean {
    return this.partitions.has(group) || this.opening.has(group)
  }

  /** Opens every placement of this node not hosted yet; stops partitions whose topic is gone. */
  reconcile (): void {
    if (this.stopped) return
    const metadata = this.options.metadata.sm
    const wanted = new Set(metadata.groupsOf(this.options.self))
    for (const group of wanted) {
      if (this.partitions.has(group) || this.opening.has(group)) continue
      this.opening.add(group)
      this.open(group).catch((error: unknown) => {
        this.options.env.logger.error('cannot host partition', { group, error: String(error) })
      }).finally(() => { this.opening.delete(group) })
    }
    for (const group of [...this.partitions.keys()]) {
      if (wanted.has(group)) continue
      this.close(group, metadata.placement(group) === undefined ? 'topic deleted' : 'replica moved off this node')
      this.options.released?.(group)
    }
    for (const partition of this.partitions.values()) {
      if (!partition.replica.isLeading) continue
      this.alignConfig(partition)
      this.membership.check(partition.group, partition.raft)
      this.preferLeader(partition)
    }
    this.handOffIfDown()
  }

  /** Force-recovery (force-recovery.ts): this replica of `group` becomes its only voter; answers its commit index. */
  async forceRecover (group: string): Promise<number> {
    const hosted = this.partitions.get(group)
    if (hosted === undefined) throw new UnknownTopicError({ topic: group })
    await hosted.raft.forceSingleVoter()
    return hosted.raft.status().commitIndex
  }

  /** A peer became reachable: a node marked down may now have someone to hand its partitions to. */
  peerLive (): void {
    if (!this.stopped) this.handOffIfDown()
  }

  stop (): void {
    this.stopped = true
    this.membership.stop()
    for (const timer of this.transferTimers.values()) this.options.env.clock.clearTimer(timer)
    this.transferTimers.clear()
    for (const group of [...this.partitions.keys()]) this.close(group, 'node stopping')
  }

  private async open (group: string): Promise<void> {
    const { env, self, host, metadata } = this.options
    const { snapshotAfterTrimmedBytes, ...replicaPolicies } = this.options.policies ?? {}
    const placement = metadata.sm.placement(group)
    const topic = metadata.sm.topic(group)
    if (placement === undefined || topic === undefined) return
    const partition = topic.partitions === 0 ? NON_PARTITIONED : parseTopicName(group).partitionIndex
    let sm: PartitionStateMachine | undefined
    let replica: PartitionReplica | undefined
    // A node a move brings in joins the running group as a learner: no membership of its own.
    const joining = metadata.sm.move(group)?.to === self
    const raft = await host.host({
      group,
      ...(joining ? {} : { bootstrap: { voters: [...placement.replicas], learners: [] } }),
      stateMachine: (storage) => {
        sm = new PartitionStateMachine({
          topic: group,
          partition,
          logger: env.logger.child({ group }),
          readLog: (from, to, maxBytes) => storage.read(from, to, maxBytes),
          snapshotAfterTrimmedBytes
        })
        return sm
      },
      observer: {
        onRoleChange: (event) => {
          const leading = event.role === 'leader'
          replica?.leadershipChanged(leading)
          const hosted = this.partitions.get(group)
          if (leading && hosted !== undefined) this.becameLeader(hosted)
        }
      }
    })
    if (sm === undefined) throw new Error(`group ${group} was already hosted without a partition state machine`)
    const rates = new PartitionRates(env.clock)
    sm.onCommit((batch) => { rates.published(batch) })
    replica = new PartitionReplica({
      ...replicaPolicies,
      codecs: PARTITION_CODECS,
      ...(this.options.deadLetterSink === undefined ? {} : { deadLetterSink: this.options.deadLetterSink }),
      env,
      sm,
      self,
      propose: (data, kind) => raft.propose(data, kind),
      readIndex: () => raft.readIndex(),
      leader: () => raft.status().leader,
      deliver: (consumer, entries) => {
        rates.delivered(consumer.consumerId, entries)
        this.options.deliver(consumer, entries)
      },
      consumerClosed: (consumer, reason) => {
        rates.forgetConsumer(consumer.consumerId)
        this.options.consumerClosed(consumer, reason)
      }
    })
    const hosted: HostedPartition = { group, raft, sm, replica, rates }
    this.partitions.set(group, hosted)
    if (raft.status().role === 'leader') {
      replica.leadershipChanged(true)
      this.becameLeader(hosted)
    }
  }

  private close (group: string, reason: string): void {
    const hosted = this.partitions.get(group)
    if (hosted === undefined) return
    this.options.env.logger.info('partition closed', { group, reason })
    hosted.replica.close()
    this.membership.forget(group)
    this.options.host.stopGroup(group)
    this.partitions.delete(group)
    const timer = this.transferTimers.get(group)
    if (timer !== undefined) this.options.env.clock.clearTimer(timer)
    this.transferTimers.delete(group)
  }

  private becameLeader (hosted: HostedPartition): void {
    this.alignConfig(hosted)
    this.membership.check(hosted.group, hosted.raft)
    this.handOffIfDown()
    this.preferLeader(hosted)
  }

  /**
   * On the leader: hands leadership to the placement's preferred leader PREFERRED_LEADER_DELAY_MS
   * from now (after an election, or when the balancer names another preferred leader), if it is
   * then still preferred, an active voter and reachable.
   */
  private preferLeader (hosted: HostedPartition): void {
    const preferredNow = (): string | undefined => this.options.metadata.sm.placement(hosted.group)?.preferredLeader
    const preferred = preferredNow()
    if (preferred === undefined || preferred === this.options.self || this.transferTimers.has(hosted.group)) return
    const timer = this.options.env.clock.setTimer(PREFERRED_LEADER_DELAY_MS, () => {
      this.transferTimers.delete(hosted.group)
      const to = preferredNow()
      if (to === undefined || to === this.options.self || !hosted.replica.isLeading || !this.options.isPeerLive(to)) return
      if (this.options.metadata.sm.node(to)?.state !== 'active') return
      if (!hosted.raft.status().config.voters.includes(to)) return
      hosted.raft.transferLeader(to).catch((error: unknown) => {
        this.options.env.logger.debug('preferred leader transfer failed', { group: hosted.group, to, error: String(error) })
      })
    })
    this.transferTimers.set(hosted.group, timer)
  }

  /** While the metadata marks this node down: hands what it leads to an active voter it hears from. */
  private handOffIfDown (): void {
    const { self, metadata, isPeerLive, env } = this.options
    const led = this.all().filter((p) => p.replica.isLeading).map((p) => ({ group: p.group, voters: p.raft.status().config.voters }))
    for (const { group, to } of downLeaderHandOffs({ self, stateOf: (id) => metadata.sm.node(id)?.state, isPeerLive, led })) {
      env.logger.warn('marked down while leading: handing leadership away', { group, to })
      this.partitions.get(group)?.raft.transferLeader(to).catch((error: unknown) => {
        env.logger.debug('hand-off of a down leader failed', { group, to, error: String(error) })
      })
    }
  }

  /** On the leader: proposes a `config` entry when the namespace policies changed what the partition enforces. */
  private alignConfig (hosted: HostedPartition): void {
    let wanted: PartitionConfig
    try {
      wanted = partitionConfigOf(this.options.metadata.sm.namespacePolicies(namespaceOf(parseTopicName(hosted.group))))
    } catch {
      return
    }
    if (this.aligning.has(hosted.group) || sameConfig(wanted, hosted.sm.partitionConfig)) return
    this.aligning.add(hosted.group)
    const { kind, data } = encodePartitionEntry({ kind: 'config', body: wanted })
    hosted.raft.propose(data, kind).catch((error: unknown) => {
      this.options.env.logger.debug('partition config proposal failed', { group: hosted.group, error: String(error) })
    }).finally(() => { this.aligning.delete(hosted.group) })
  }
}

function sameConfig (a: PartitionConfig, b: PartitionConfig): boolean {
  return a.deduplication === b.deduplication && a.retentionTimeMinutes === b.retentionTimeMinutes &&
    a.retentionSizeMB === b.retentionSizeMB && a.maxMessageSize === b.maxMessageSize &&
    (a.messageTTLSeconds ?? 0) === (b.messageTTLSeconds ?? 0) && sameQuotas(a.backlogQuotas ?? {}, b.backlogQuotas ?? {}) &&
    (a.compactionThreshold ?? 0) === (b.compactionThreshold ?? 0)
}

function sameQuotas (a: BacklogQuotas, b: BacklogQuotas): boolean {
  return BACKLOG_QUOTA_TYPES.every((type) => {
    const x = a[type]
    const y = b[type]
    return x === undefined || y === undefined ? x === y : x.limitSize === y.limitSize && x.limitTime === y.limitTime && x.policy === y.policy
  })
}
