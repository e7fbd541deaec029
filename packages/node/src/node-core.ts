// The node without its edges: the hosted Raft groups on one LogStore, the metadata replica,
// the partitions, the forwarding connections and the client gateway, wired from typed edges
// (Env, the peer network, a client dialer, the store, membership hooks). `BlazarNode` runs it
// with libp2p, the real disk, HTTP and the Pulsar listener; the simulator runs the same class
// with its simulated network, SimDisk and virtual clock. Owns the registration of the node in
// the metadata (and, on a new cluster, the default tenant and namespace) and the leadership
// hand-off before a clean stop.
import type { Env, MembershipConfig, NodeId, TimerHandle } from '@blazar/env'
import { DEFAULT_NAMESPACE, DEFAULT_TENANT, errorFromWire, type ClientReply, type ClientRequestBody, type ClientResult } from '@blazar/protocol'
import type { RaftConfig } from '@blazar/raft'
import type { LogStore } from '@blazar/storage'
import { GroupRouter } from '@blazar/transport'
import { GatewayDeadLetterSink } from './dead-letter-sink.ts'
import { Gateway } from './gateway.ts'
import type { GatewayContext, NodeFaults } from './gateway-context.ts'
import { GroupHost, type GroupEvents } from './group-host.ts'
import { LeaderRouter } from './leader-router.ts'
import { MetadataService } from './metadata-service.ts'
import { metadataWrite } from './metadata-writes.ts'
import type { ClientDialer, PeerNetwork } from './node-edges.ts'
import { PartitionService, type PartitionPolicySettings } from './partition-service.ts'
import { ReplicaCleanup, type LeaderMembership } from './replica-cleanup.ts'
import type { GatewaySession } from './session-state.ts'
import { UpstreamPool } from './upstreams.ts'

/** How often a node checks that it is registered in the metadata with its current addresses. */
export const REGISTRATION_CHECK_MS = 500
/** How long a clean stop waits for each leadership hand-off. */
export const SHUTDOWN_TRANSFER_TIMEOUT_MS = 3000

export interface NodeCoreOptions {
  env: Env
  self: NodeId
  store: LogStore
  network: PeerNetwork
  clients: ClientDialer
  raftConfig: Partial<RaftConfig>
  /** The addresses this node registers in the metadata. */
  addresses: () => string[]
  zone: string | null
  /** Whether `peer` is a member by what this node knew before the metadata (its cluster file). */
  knowsMember: (peer: NodeId) => boolean
  /** Create tenant `public` and namespace `public/default` once registered (a new cluster). */
  createDefaults: boolean
  /** The metadata group's bootstrap membership (undefined for a joiner). */
  bootstrap: MembershipConfig | undefined
  /** Called (batched) after the metadata changed: the membership follows it. */
  membersChanged?: () => void
  events?: GroupEvents
  onForward?: GatewayContext['onForward']
  /** Test-only deliberate bugs (the simulator's node workload). */
  faults?: NodeFaults
  /** How long a node must be marked down before its replicas move (NodeConfig.reReplicationDelayMs). */
  reReplicationDelayMs: number
  /** The partitions' policy check intervals and snapshot-after-trim size (defaults when absent). */
  policies?: PartitionPolicySettings
}

export class NodeCore {
  readonly self: NodeId
  readonly host: GroupHost
  readonly metadata: MetadataService
  readonly partitions: PartitionService
  readonly cleanup: ReplicaCleanup
  readonly upstreams: UpstreamPool
  readonly gateway: Gateway
  private readonly deadLetterSink: GatewayDeadLetterSink
  readonly context: GatewayContext
  private readonly options: NodeCoreOptions
  private registrationTimer: TimerHandle | null = null
  private createDefaults: boolean
  private stopped = false

  constructor (options: NodeCoreOptions) {
    this.options = options
    this.self = options.self
    this.createDefaults = options.createDefaults
    const { env, self, network } = options
    const router = new GroupRouter(network)
    this.host = new GroupHost({ self, env, store: options.store, router, network, raftConfig: options.raftConfig, events: options.events })
    const metadata = new MetadataService({ env, self, isPeerLive: (peer) => network.isPeerLive(peer), reReplicationDelayMs: options.reReplicationDelayMs })
    this.metadata = metadata
    const partitions = new PartitionService({
      env,
      self,
      host: this.host,
      metadata,
      isPeerLive: (peer) => network.isPeerLive(peer),
      deliver: (consumer, entries) => { this.gateway.consumers.deliver(consumer, entries) },
      consumerClosed: (consumer, reason) => { this.gateway.consumers.closed(consumer, reason) },
      // Dead letters go out as client sends through this node's gateway (its routing to the dead-letter topic's leader).
      deadLetterSink: { publish: async (record) => { await this.deadLetterSink.publish(record) } },
      ...(options.policies === undefined ? {} : { policies: options.policies }),
      released: (group) => { this.cleanup.released(group) },
      reportMoveMatched: async (group, to) => {
        const reply = await metadataWrite(this.context, true, { type: 'placements-complete-move', group, to })
        if (!reply.ok) throw errorFromWire(reply.error)
      }
    })
    this.partitions = partitions
    const upstreams = new UpstreamPool(options.clients, env.clock)
    this.upstreams = upstreams
    network.onPeerLiveness((peer, live) => { if (live) partitions.peerLive(); else upstreams.peerDown(peer) })
    this.context = {
      env,
      self,
      host: this.host,
      metadata,
      partitions,
      router: new LeaderRouter({ self, metadata, partitions }),
      upstreams,
      onForward: options.onForward,
      faults: options.faults
    }
    this.gateway = new Gateway(this.context, (peer) => metadata.sm.node(peer) !== undefined || options.knowsMember(peer))
    this.deadLetterSink = new GatewayDeadLetterSink({ serve: async (session, body) => await this.gateway.serve(session, body), metadata })
    this.cleanup = new ReplicaCleanup({
      env,
      self,
      store: options.store,
      metadata,
      isHosted: (group) => partitions.hosts(group),
      leaderConfig: (group) => this.leaderConfigOf(group)
    })
  }

  /** Starts the metadata replica, opens the hosted partitions and begins registering this node. */
  async start (): Promise<void> {
    const membersChanged = this.options.membersChanged
    if (membersChanged !== undefined) this.metadata.onChange(membersChanged)
    await this.metadata.start(this.host, this.options.bootstrap)
    this.partitions.reconcile()
    this.cleanup.sweep()
    this.scheduleRegistrationCheck(0)
  }

  /** Serves one client request of `session` (always a ClientReply). */
  async serve (session: GatewaySession, body: unknown): Promise<ClientReply> {
    return await this.gateway.serve(session, body)
  }

  /** An admin request that arrived over HTTP. */
  async serveAdmin (body: ClientRequestBody): Promise<ClientReply> {
    return await this.gateway.serveAdmin(body)
  }

  /** The first step of a clean stop: no more registration checks; hands off every group this node leads (bounded wait each). */
  async handOffLeadership (): Promise<void> {
    this.stopRegistering()
    const { clock, logger } = this.options.env
    const network = this.options.network
    await Promise.all(this.host.statuses().filter((status) => status.role === 'leader').map(async (status) => {
      const target = status.config.voters.find((voter) => voter !== this.self && network.isPeerLive(voter))
      const raft = this.host.get(status.group)
      if (target === undefined || raft === undefined) return
      let timer: TimerHandle | undefined
      try {
        await Promise.race([
          raft.transferLeader(target),
          new Promise((_resolve, reject) => { timer = clock.setTimer(SHUTDOWN_TRANSFER_TIMEOUT_MS, () => { reject(new Error('timed out')) }) })
        ])
      } catch (error) {
        logger.warn('leadership hand-off failed', { group: status.group, to: target, error: String(error) })
      } finally {
        if (timer !== undefined) clock.clearTimer(timer)
      }
    }))
  }

  /** Stops the partitions, the metadata replica, every group and the forwarding connections (the store stays open). */
  async stop (): Promise<void> {
    this.stopRegistering()
    this.cleanup.stop()
    this.partitions.stop()
    this.metadata.stop()
    this.host.stopAll()
    await this.upstreams.closeAll()
  }

  /**
   * The group's Raft membership from its leader: asks the placed replicas in turn (a request
   * from a member is served only where the group is led, else answered NOT_LEADER).
   */
  /** The group's membership as its leader sees it, found the way every request finds the leader (the gateway's `atLeader`). */
  private async leaderConfigOf (group: string): Promise<LeaderMembership | null> {
    const reply = await this.gateway.serveAdmin({ type: 'topics-internal-stats', topic: group })
    if (!reply.ok) return null
    const [stats] = (reply.result as ClientResult<'topics-internal-stats'>).partitions
    return stats === undefined ? null : { voters: stats.voters, learners: stats.learners, committed: stats.commitIndex >= stats.configIndex }
  }

  private stopRegistering (): void {
    this.stopped = true
    if (this.registrationTimer !== null) this.options.env.clock.clearTimer(this.registrationTimer)
    this.registrationTimer = null
  }

  private scheduleRegistrationCheck (delayMs: number): void {
    this.registrationTimer = this.options.env.clock.setTimer(delayMs, () => {
      this.registrationTimer = null
      this.checkRegistration().then((done) => {
        if (!done && !this.stopped) this.scheduleRegistrationCheck(REGISTRATION_CHECK_MS)
      }, (error: unknown) => {
        this.options.env.logger.debug('registration check failed', { error: String(error) })
        if (!this.stopped) this.scheduleRegistrationCheck(REGISTRATION_CHECK_MS)
      })
    })
  }

  /** Registers this node (and, on a new cluster, the default tenant and namespace); true when nothing is left to do. */
  private async checkRegistration (): Promise<boolean> {
    const { metadata, context } = this
    const zone = this.options.zone
    if (metadata.leader() === null) return false
    await metadata.barrier()
    const addresses = this.options.addresses()
    const record = metadata.sm.node(this.self)
    if (record === undefined || JSON.stringify(record.addresses) !== JSON.stringify(addresses) || record.zone !== zone) {
      const reply = await metadataWrite(context, true, { type: 'nodes-register', id: this.self, addresses, zone })
      if (!reply.ok) throw errorFromWire(reply.error)
    }
    if (this.createDefaults) {
      if (!metadata.sm.tenants().includes(DEFAULT_TENANT)) {
        const reply = await metadataWrite(context, true, { type: 'tenants-create', tenant: DEFAULT_TENANT, adminRoles: [], allowedClusters: [] })
        if (!reply.ok && reply.error.code !== 'TENANT_ALREADY_EXISTS') throw errorFromWire(reply.error)
      }
      const namespace = `${DEFAULT_TENANT}/${DEFAULT_NAMESPACE}`
      if (!metadata.sm.namespaces(DEFAULT_TENANT).includes(namespace)) {
        const reply = await metadataWrite(context, true, { type: 'namespaces-create', namespace })
        if (!reply.ok && reply.error.code !== 'NAMESPACE_ALREADY_EXISTS') throw errorFromWire(reply.error)
      }
      this.createDefaults = false
    }
    return true
  }
}
