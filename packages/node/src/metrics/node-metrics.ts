// The node's /metrics (prom-client, Prometheus text format). Topic metrics under Pulsar's names
// and labels (cluster, namespace, topic), reported by each partition's leader only, so summing
// over nodes counts every partition once; beyond `maxTopicSeries` led partitions they are
// aggregated per namespace (no topic label), which bounds the series a node exports. Blazar's
// own metrics under `blazar_`: per Raft group state and events (bounded by the same setting),
// storage fsyncs (latency histogram, per round), forwarded requests, transport frames and bytes,
// and prom-client's process metrics.
import { namespaceOf, parseTopicName } from '@blazar/protocol'
import type { LogStore } from '@blazar/storage'
import type { CounterSnapshot } from '@blazar/transport'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { GroupHost } from '../group-host.ts'
import type { HostedPartition, PartitionService } from '../partition-service.ts'

export interface NodeMetricsSources {
  clusterName: string
  /** Led partitions exported with a topic label; above it, per namespace only. */
  maxTopicSeries: number
  partitions: () => PartitionService
  host: () => GroupHost
  store: () => LogStore
  transport: () => CounterSnapshot
}

type Labels = Record<string, string>

export class NodeMetrics {
  readonly registry = new Registry()
  readonly fsyncSeconds: Histogram
  readonly forwarded: Counter
  readonly leaderChanges: Counter
  readonly elections: Counter
  readonly snapshotRestores: Counter
  private readonly sources: NodeMetricsSources
  private readonly lastLeader = new Map<string, string | null>()
  /** The partitions this node leads, as of the current scrape. */
  private readonly led = new Map<string, HostedPartition>()

  constructor (sources: NodeMetricsSources) {
    this.sources = sources
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    this.fsyncSeconds = new Histogram({
      name: 'blazar_storage_fsync_seconds', help: 'Latency of each file sync (journal: one per round for all groups)', labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1], registers
    })
    this.forwarded = new Counter({ name: 'blazar_forwarded_requests_total', help: 'Requests forwarded to the leader\'s node', labelNames: ['type'], registers })
    this.leaderChanges = new Counter({ name: 'blazar_raft_leader_changes_total', help: 'Leader changes seen by this node\'s replica', labelNames: ['group'], registers })
    this.elections = new Counter({ name: 'blazar_raft_elections_total', help: 'Elections this node\'s replica started', labelNames: ['group'], registers })
    this.snapshotRestores = new Counter({ name: 'blazar_raft_snapshot_installs_total', help: 'Snapshots restored into the group\'s state machine', labelNames: ['group'], registers })
    this.topicGauges(registers)
    this.raftGauges(registers)
    this.storageGauges(registers)
    this.transportGauges(registers)
  }

  /** GroupEvents for the GroupHost: elections and leader changes per group, snapshot installs. */
  readonly groupEvents = {
    roleChanged: (group: string, event: { role: string, leader: string | null }): void => {
      if (event.role === 'candidate') this.elections.inc({ group })
      const previous = this.lastLeader.get(group)
      if (event.leader !== null && previous !== event.leader) {
        if (previous !== undefined) this.leaderChanges.inc({ group })
        this.lastLeader.set(group, event.leader)
      }
    },
    snapshotRestored: (group: string): void => { this.snapshotRestores.inc({ group }) }
  }

  /** One scrape's view of the partitions this node leads. */
  async scrape (): Promise<{ contentType: string, body: string }> {
    this.led.clear()
    for (const partition of this.sources.partitions().all()) if (partition.replica.isLeading) this.led.set(partition.group, partition)
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  /** Whether per-group series are capped (more groups than maxTopicSeries). */
  private topicLevel (count: number): boolean {
    return count <= this.sources.maxTopicSeries
  }

  private topicGauges (registers: Registry[]): void {
    const { sources } = this
    const labelNames = ['cluster', 'namespace', 'topic']
    const gauges: Array<{ name: string, help: string, value: (group: string) => number, counter?: boolean }> = []
    const define = (name: string, help: string, value: (group: string) => number, counter = false): void => { gauges.push({ name, help, value, counter }) }
    const byGroup = this.led
    define('pulsar_rate_in', 'Messages per second published (sliding window)', (g) => byGroup.get(g)!.rates.in.rates().msgRate)
    define('pulsar_rate_out', 'Messages per second dispatched', (g) => byGroup.get(g)!.rates.out.rates().msgRate)
    define('pulsar_throughput_in', 'Bytes per second published', (g) => byGroup.get(g)!.rates.in.rates().byteRate)
    define('pulsar_throughput_out', 'Bytes per second dispatched', (g) => byGroup.get(g)!.rates.out.rates().byteRate)
    define('pulsar_storage_size', 'Bytes of retained messages', (g) => byGroup.get(g)!.sm.stats().retainedBytes)
    define('pulsar_msg_backlog', 'Unacknowledged messages over all subscriptions', (g) => {
      const { sm } = byGroup.get(g)!
      return sm.subscriptions().reduce((sum, cursor) => sum + sm.backlog(cursor.subscription), 0)
    })
    define('pulsar_storage_backlog_size', 'Bytes above the slowest subscription\'s mark-delete (what a destination_storage quota limits)', (g) => byGroup.get(g)!.replica.backlogUsage().bytes)
    define('pulsar_storage_backlog_age_seconds', 'Age of the slowest subscription\'s oldest unacknowledged message (what a message_age quota limits)', (g) => byGroup.get(g)!.replica.backlogUsage().ageSeconds)
    define('pulsar_storage_backlog_quota_limit', 'The destination_storage backlog quota in bytes (-1: none)', (g) => byGroup.get(g)!.sm.partitionConfig.backlogQuotas?.destination_storage?.limitSize ?? -1)
    define('blazar_backlog_quota_held_sends', 'Sends held by a producer_request_hold backlog quota', (g) => byGroup.get(g)!.replica.heldSends)
    define('pulsar_subscriptions_count', 'Subscriptions', (g) => byGroup.get(g)!.sm.subscriptions().length)
    define('pulsar_producers_count', 'Producers that published within the rate window', (g) => byGroup.get(g)!.rates.publishers().length)
    define('pulsar_consumers_count', 'Consumers attached at the leader', (g) => byGroup.get(g)!.replica.consumerStats().reduce((sum, s) => sum + s.consumers.length, 0))
    define('pulsar_in_messages_total', 'Messages published since the topic was created (replicated)', (g) => byGroup.get(g)!.sm.stats().messagesIn, true)
    define('pulsar_in_bytes_total', 'Bytes published since the topic was created (replicated)', (g) => byGroup.get(g)!.sm.stats().bytesIn, true)
    for (const gauge of gauges) {
      const collect = function (this: Gauge | Counter): void {
        this.reset()
        const perTopic = sources.maxTopicSeries >= byGroup.size
        const sums = new Map<string, number>()
        for (const group of byGroup.keys()) {
          const namespace = namespaceOf(parseTopicName(group))
          const value = gauge.value(group)
          if (perTopic) this.inc({ cluster: sources.clusterName, namespace, topic: group }, value)
          else sums.set(namespace, (sums.get(namespace) ?? 0) + value)
        }
        for (const [namespace, value] of sums) this.inc({ cluster: sources.clusterName, namespace }, value)
      }
      const options = { name: gauge.name, help: gauge.help, labelNames, registers }
      if (gauge.counter === true) new Counter({ ...options, collect })
      else new Gauge({ ...options, collect })
    }
    new Gauge({
      name: 'pulsar_subscription_back_log',
      help: 'Unacknowledged messages of one subscription',
      labelNames: [...labelNames, 'subscription'],
      registers,
      collect () {
        this.reset()
        const perTopic = sources.maxTopicSeries >= byGroup.size
        for (const partition of byGroup.values()) {
          const namespace = namespaceOf(parseTopicName(partition.group))
          for (const cursor of partition.sm.subscriptions()) {
            const labels: Labels = { cluster: sources.clusterName, namespace, subscription: cursor.subscription }
            if (perTopic) labels.topic = partition.group
            this.inc(labels, partition.sm.backlog(cursor.subscription))
          }
        }
      }
    })
  }

  private raftGauges (registers: Registry[]): void {
    const host = (): GroupHost => this.sources.host()
    const perGroup = (name: string, help: string, value: (status: ReturnType<GroupHost['statuses']>[number]) => number): void => {
      const self = this
      new Gauge({
        name, help, labelNames: ['group'], registers,
        collect () {
          this.reset()
          const statuses = host().statuses()
          if (!self.topicLevel(statuses.length)) return
          for (const status of statuses) this.set({ group: status.group }, value(status))
        }
      })
    }
    perGroup('blazar_raft_term', 'Current Raft term', (s) => s.term)
    perGroup('blazar_raft_is_leader', '1 where this node leads the group', (s) => s.role === 'leader' ? 1 : 0)
    perGroup('blazar_raft_commit_index', 'Commit index', (s) => s.commitIndex)
    perGroup('blazar_raft_commit_lag', 'Entries appended here but not committed yet (last index - commit index)', (s) => Math.max(0, s.lastIndex - s.commitIndex))
    perGroup('blazar_raft_apply_lag', 'Entries committed but not applied yet', (s) => Math.max(0, s.commitIndex - s.appliedIndex))
    new Gauge({
      name: 'blazar_raft_groups', help: 'Raft groups hosted here, by role', labelNames: ['role'], registers,
      collect () {
        this.reset()
        for (const status of host().statuses()) this.inc({ role: status.role })
      }
    })
  }

  private storageGauges (registers: Registry[]): void {
    const store = this.sources.store
    const stat = (name: string, help: string, value: (stats: ReturnType<LogStore['stats']>) => number): void => {
      new Counter({ name, help, registers, collect () { this.reset(); this.inc(value(store().stats())) } })
    }
    stat('blazar_storage_fsyncs_total', 'Every fsync issued (journal, segments, directories, snapshots, checkpoints)', (s) => s.fsyncs)
    stat('blazar_storage_journal_fsyncs_total', 'Journal fsyncs', (s) => s.journalFsyncs)
    stat('blazar_storage_rounds_total', 'Journal rounds (one write + one fsync for every group with something to persist)', (s) => s.rounds)
    stat('blazar_storage_journal_bytes_total', 'Bytes written to the journal', (s) => s.journalBytes)
    stat('blazar_storage_deleted_groups_total', 'Groups whose data this node deleted (replicas moved off it, topics deleted)', (s) => s.deletedGroups)
    new Gauge({
      name: 'blazar_storage_fsyncs_per_round', help: 'Fsyncs per journal round since start (rate(fsyncs)/rate(rounds) for a window)', registers,
      collect () { const stats = store().stats(); this.set(stats.rounds === 0 ? 0 : stats.fsyncs / stats.rounds) }
    })
  }

  private transportGauges (registers: Registry[]): void {
    const transport = this.sources.transport
    const counter = (name: string, help: string, key: keyof CounterSnapshot): void => {
      new Counter({ name, help, registers, collect () { this.reset(); this.inc(transport()[key]) } })
    }
    counter('blazar_transport_raft_frames_sent_total', 'Raft frames sent to peers (each batches many messages)', 'raftFramesSent')
    counter('blazar_transport_raft_bytes_sent_total', 'Bytes of Raft frames sent to peers', 'raftBytesSent')
    counter('blazar_transport_raft_messages_sent_total', 'Raft messages sent', 'raftMessagesSent')
    counter('blazar_transport_raft_messages_received_total', 'Raft messages received', 'raftMessagesReceived')
    counter('blazar_transport_client_requests_total', 'Client requests served', 'clientRequestsServed')
    counter('blazar_transport_client_pushes_total', 'Pushes sent to clients', 'clientPushesSent')
    counter('blazar_transport_frames_malformed_total', 'Frames dropped as malformed, oversized or truncated', 'framesMalformed')
  }
}
