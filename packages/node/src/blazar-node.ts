// One Blazar node process, wired from its parts: the libp2p transport, the node-wide log
// store, the metadata replica, the hosted partitions, the client gateway (which forwards to
// leaders on other nodes), the Pulsar protocol listener (served by the same gateway) and the
// HTTP endpoint. Handles creating a cluster (--init), joining
// one (--join, with the cluster secret), restarting from the data dir, keeping the raft
// allowlist equal to the cluster's members, and a clean shutdown that hands leadership off.
import { mkdir, writeFile } from 'node:fs/promises'
import { join as joinPath } from 'node:path'
import type { Env, MembershipConfig, NodeId, TimerHandle } from '@blazar/env'
import { DEFAULT_NAMESPACE, DEFAULT_TENANT, errorFromWire } from '@blazar/protocol'
import type { RaftMessage } from '@blazar/raft'
import { LogStore, NodeDisk } from '@blazar/storage'
import { GroupRouter, MathRandom, Transport } from '@blazar/transport'
import type { FastifyInstance } from 'fastify'
import { nodeStatus } from './admin-handlers.ts'
import { ClusterFileWriter, readClusterFile, type ClusterFile } from './cluster-file.ts'
import type { NodeConfig } from './config.ts'
import { Gateway } from './gateway.ts'
import type { GatewayContext } from './gateway-context.ts'
import { GroupHost } from './group-host.ts'
import { startHttpServer } from './http-server.ts'
import { LeaderRouter } from './leader-router.ts'
import { MetadataService } from './metadata-service.ts'
import { metadataWrite } from './metadata-writes.ts'
import { PartitionService } from './partition-service.ts'
import type { PinoLogger } from './pino-logger.ts'
import { NodeMetrics } from './metrics/node-metrics.ts'
import { TimedDisk } from './metrics/timed-disk.ts'
import { PulsarListener } from './pulsar/pulsar-listener.ts'
import { UpstreamPool } from './upstreams.ts'
import { WallClock } from './wall-clock.ts'

/** How often a node checks that it is registered in the metadata with its current addresses. */
export const REGISTRATION_CHECK_MS = 500
/** How long shutdown waits for each leadership hand-off. */
export const SHUTDOWN_TRANSFER_TIMEOUT_MS = 3000
/** The file in the data dir listing the node's multiaddrs, one per line (for scripts). */
export const ADDRESSES_FILE = 'addresses'

export class NodeStartError extends Error {
  readonly code = 'NODE_START_FAILED'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'NodeStartError'
  }
}

interface Parts {
  config: NodeConfig
  logger: PinoLogger
  clock: WallClock
  env: Env
  transport: Transport
  store: LogStore
  host: GroupHost
  metadata: MetadataService
  partitions: PartitionService
  upstreams: UpstreamPool
  gateway: Gateway
  context: GatewayContext
}

export class BlazarNode {
  readonly id: NodeId
  private readonly parts: Parts
  private cluster: ClusterFile
  private readonly clusterFile: ClusterFileWriter
  private http: FastifyInstance | undefined
  private pulsar: PulsarListener | undefined
  private registrationTimer: TimerHandle | null = null
  private createDefaults: boolean
  private stopping: Promise<void> | undefined

  private constructor (parts: Parts, cluster: ClusterFile, clusterFile: ClusterFileWriter, createDefaults: boolean) {
    this.parts = parts
    this.id = parts.transport.id
    this.cluster = cluster
    this.clusterFile = clusterFile
    this.createDefaults = createDefaults
  }

  static async start (config: NodeConfig, logger: PinoLogger): Promise<BlazarNode> {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
    const clock = new WallClock({ resolutionMs: 5 })
    const env: Env = { clock, random: new MathRandom(), logger }
    const transport = await Transport.start({
      dataDir: config.dataDir,
      listen: config.listen,
      clusterSecret: config.clusterSecret ?? undefined,
      clock,
      logger: logger.child({ component: 'transport' })
    })
    const self = transport.id
    const clusterFile = new ClusterFileWriter(config.dataDir)
    let cluster = await readClusterFile(config.dataDir)
    let createDefaults = false
    if (cluster === null) {
      if (config.init) {
        cluster = { bootstrapVoters: [self], members: [{ id: self, addresses: transport.addresses() }] }
        createDefaults = true
      } else if (config.join.length > 0) {
        cluster = await joinCluster(transport, config)
      } else {
        await transport.stop()
        clock.stop()
        throw new NodeStartError(`${config.dataDir} holds no cluster: start with --init to create one or --join <multiaddr> to join one`)
      }
      await clusterFile.save(cluster)
    } else if (config.init || config.join.length > 0) {
      logger.info('data dir already holds a cluster; --init/--join ignored', { dataDir: config.dataDir })
    }
    let host: GroupHost | undefined
    let partitions: PartitionService | undefined
    const metrics = new NodeMetrics({
      clusterName: config.clusterName,
      maxTopicSeries: config.metricsMaxTopics,
      partitions: () => partitions as PartitionService,
      host: () => host as GroupHost,
      store: () => store,
      transport: () => transport.counters()
    })
    const disk = new TimedDisk(new NodeDisk(joinPath(config.dataDir, 'raft')), (kind, seconds) => { metrics.fsyncSeconds.observe({ kind }, seconds) })
    const store = await LogStore.open(disk, { settings: { segmentBytes: config.segmentBytes } })
    const network = transport.raftNetwork<RaftMessage>()
    const router = new GroupRouter(network)
    host = new GroupHost({
      self,
      env,
      store,
      router,
      network,
      raftConfig: { electionTimeoutMs: config.electionTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs, quiesce: true },
      events: metrics.groupEvents
    })
    const metadata = new MetadataService({ env, self, isPeerLive: (peer) => network.isPeerLive(peer), reReplicationDelayMs: config.reReplicationDelayMs })
    let gateway: Gateway | undefined
    partitions = new PartitionService({
      env,
      self,
      host,
      metadata,
      isPeerLive: (peer) => network.isPeerLive(peer),
      deliver: (consumer, entries) => { gateway?.consumers.deliver(consumer, entries) },
      consumerClosed: (consumer, reason) => { gateway?.consumers.closed(consumer, reason) },
      policies: {
        retentionCheckIntervalMs: config.retentionCheckIntervalMs,
        messageExpiryCheckIntervalMs: config.messageExpiryCheckIntervalMs,
        backlogQuotaCheckIntervalMs: config.backlogQuotaCheckIntervalMs,
        backlogQuotaHoldMs: config.backlogQuotaHoldMs,
        snapshotAfterTrimmedBytes: config.segmentBytes
      },
      reportMoveMatched: async (group, to) => {
        const reply = await metadataWrite(context, true, { type: 'placements-complete-move', group, to })
        if (!reply.ok) throw errorFromWire(reply.error)
      }
    })
    const upstreams = new UpstreamPool(transport)
    network.onPeerLiveness((peer, live) => { if (live) partitions.peerLive(); else upstreams.peerDown(peer) })
    const context: GatewayContext = {
      env, self, host, metadata, partitions, router: new LeaderRouter({ self, metadata, partitions }), upstreams, onForward: (type) => { metrics.forwarded.inc({ type }) }
    }
    let node: BlazarNode | undefined
    gateway = new Gateway(context, (peer) => metadata.sm.node(peer) !== undefined || node?.knowsMember(peer) === true)
    node = new BlazarNode({ config, logger, clock, env, transport, store, host, metadata, partitions, upstreams, gateway, context }, cluster, clusterFile, createDefaults)
    await node.applyMembers()
    const bootstrap: MembershipConfig | undefined = cluster.bootstrapVoters === null ? undefined : { voters: cluster.bootstrapVoters, learners: [] }
    metadata.onChange(() => { node.membersChanged() })
    await metadata.start(host, bootstrap)
    const serving = gateway
    transport.onClientRequest(async (request) => await serving.handle(request))
    transport.onJoin(async ({ peer, body }) => await node.admit(peer, body))
    partitions.reconcile()
    node.scheduleRegistrationCheck(0)
    if (config.pulsarPort !== 0) {
      try {
        node.pulsar = await PulsarListener.start({
          host: config.pulsarHost,
          port: config.pulsarPort,
          serve: async (session, body) => await serving.serve(session, body),
          clock,
          logger: logger.child({ component: 'pulsar' })
        })
      } catch (error) {
        await node.stop()
        throw new NodeStartError(`cannot listen for Pulsar clients on ${config.pulsarHost}:${config.pulsarPort}: ${String(error)}`, { cause: error })
      }
    }
    if (config.httpPort !== 0) {
      const http = await startHttpServer({
        host: config.httpHost,
        port: config.httpPort,
        health: () => ({ id: self, name: config.nodeName, metadataLeader: metadata.leader() }),
        status: () => ({ ...nodeStatus(context), pulsar: node.pulsar?.counters.snapshot() ?? null }),
        admin: {
          serve: async (body) => await serving.serveAdmin(body),
          clusterName: config.clusterName,
          nodes: () => metadata.sm.nodes().map((record) => record.id),
          serviceUrl: () => `http://${config.httpHost}:${config.httpPort}`
        },
        metrics: async () => await metrics.scrape()
      })
      node.http = http.server
    }
    await writeFile(joinPath(config.dataDir, ADDRESSES_FILE), transport.addresses().join('\n') + '\n')
    logger.info('node started', { id: self, name: config.nodeName, addresses: transport.addresses(), pulsarPort: node.pulsar?.port ?? null, dataDir: config.dataDir })
    return node
  }

  addresses (): string[] {
    return this.parts.transport.addresses()
  }

  /** Whether `peer` is a member as far as cluster.json knows (before the metadata has caught up). */
  knowsMember (peer: NodeId): boolean {
    return this.cluster.members.some((member) => member.id === peer)
  }

  /** Hands off the leadership of every group this node leads, then stops everything. */
  async stop (): Promise<void> {
    this.stopping ??= this.shutdown()
    await this.stopping
  }

  private async shutdown (): Promise<void> {
    const { clock, logger, transport, store, host, metadata, partitions, upstreams } = this.parts
    if (this.registrationTimer !== null) clock.clearTimer(this.registrationTimer)
    await this.handOffLeadership()
    await this.pulsar?.stop()
    await this.http?.close()
    partitions.stop()
    metadata.stop()
    host.stopAll()
    await upstreams.closeAll()
    await store.close()
    await transport.stop()
    clock.stop()
    logger.info('node stopped', { id: this.id })
    logger.flush()
  }

  private async handOffLeadership (): Promise<void> {
    const { host, transport, logger } = this.parts
    const network = transport.raftNetwork<RaftMessage>()
    await Promise.all(host.statuses().filter((status) => status.role === 'leader').map(async (status) => {
      const target = status.config.voters.find((voter) => voter !== this.id && network.isPeerLive(voter))
      const raft = host.get(status.group)
      if (target === undefined || raft === undefined) return
      try {
        await Promise.race([
          raft.transferLeader(target),
          new Promise((_resolve, reject) => { setTimeout(() => { reject(new Error('timed out')) }, SHUTDOWN_TRANSFER_TIMEOUT_MS).unref() })
        ])
      } catch (error) {
        logger.warn('leadership hand-off failed', { group: status.group, to: target, error: String(error) })
      }
    }))
  }

  /** A node asked to join with the right secret: record it in the metadata, answer the members. */
  private async admit (peer: NodeId, body: unknown): Promise<{ accepted: true, body: unknown } | { accepted: false, reason: string }> {
    const request = body as { addresses?: unknown, zone?: unknown } | null
    const addresses = Array.isArray(request?.addresses) ? request.addresses.filter((a): a is string => typeof a === 'string') : []
    const zone = typeof request?.zone === 'string' ? request.zone : null
    const reply = await metadataWrite(this.parts.context, true, { type: 'nodes-register', id: peer, addresses, zone })
    if (!reply.ok) return { accepted: false, reason: errorFromWire(reply.error).message }
    await this.parts.metadata.barrier().catch(() => {})
    // This node may not be in the metadata yet (a join right after --init), so it names itself
    // and every member it knows of: the joiner must be able to reach someone to catch up.
    const members = new Map(this.cluster.members.map((member) => [member.id, member.addresses]))
    for (const node of this.parts.metadata.sm.nodes()) members.set(node.id, node.addresses)
    members.set(this.id, this.parts.transport.addresses())
    if (!members.has(peer)) members.set(peer, addresses)
    this.parts.logger.info('node admitted', { peer, addresses })
    return { accepted: true, body: { members: [...members].map(([id, known]) => ({ id, addresses: known })) } }
  }

  /** The raft allowlist and peer addresses follow the metadata's nodes (and cluster.json until it has them). */
  private membersChanged (): void {
    this.applyMembers().catch((error: unknown) => { this.parts.logger.error('cannot apply cluster members', { error: String(error) }) })
  }

  private async applyMembers (): Promise<void> {
    const { transport, metadata } = this.parts
    const known = new Map(this.cluster.members.map((member) => [member.id, member.addresses]))
    for (const node of metadata.sm.nodes()) known.set(node.id, node.addresses)
    transport.setMembers(known.keys())
    // The new state is taken before any await, so a later call always saves a later state.
    const members = [...known].map(([id, addresses]) => ({ id, addresses })).sort((a, b) => a.id.localeCompare(b.id))
    let saved: Promise<void> = Promise.resolve()
    if (JSON.stringify(members) !== JSON.stringify(this.cluster.members)) {
      this.cluster = { ...this.cluster, members }
      saved = this.clusterFile.save(this.cluster)
    }
    const addressed = (async () => {
      for (const [id, addresses] of known) if (id !== this.id && addresses.length > 0) await transport.addPeerAddresses(id, addresses)
    })()
    await Promise.all([saved, addressed])
  }


  private scheduleRegistrationCheck (delayMs: number): void {
    this.registrationTimer = this.parts.clock.setTimer(delayMs, () => {
      this.registrationTimer = null
      this.checkRegistration().then((done) => {
        if (!done && this.stopping === undefined) this.scheduleRegistrationCheck(REGISTRATION_CHECK_MS)
      }, (error: unknown) => {
        this.parts.logger.debug('registration check failed', { error: String(error) })
        if (this.stopping === undefined) this.scheduleRegistrationCheck(REGISTRATION_CHECK_MS)
      })
    })
  }

  /** Registers this node (and, on a new cluster, the default tenant and namespace); true when nothing is left to do. */
  private async checkRegistration (): Promise<boolean> {
    const { metadata, transport, config, context } = this.parts
    if (metadata.leader() === null) return false
    await metadata.barrier()
    const addresses = transport.addresses()
    const record = metadata.sm.node(this.id)
    if (record === undefined || JSON.stringify(record.addresses) !== JSON.stringify(addresses) || record.zone !== config.zone) {
      const reply = await metadataWrite(context, true, { type: 'nodes-register', id: this.id, addresses, zone: config.zone })
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

/** Asks each given member in turn to admit this node; answers the cluster file to start from. */
async function joinCluster (transport: Transport, config: NodeConfig): Promise<ClusterFile> {
  const failures: string[] = []
  for (const address of config.join) {
    try {
      const answer = await transport.join(address, { secret: config.clusterSecret ?? '', body: { addresses: transport.addresses(), zone: config.zone } })
      const members = (answer as { members?: Array<{ id: string, addresses: string[] }> } | null)?.members
      if (!Array.isArray(members)) throw new Error('join answer holds no member list')
      return { bootstrapVoters: null, members }
    } catch (error) {
      failures.push(`${address}: ${String(error)}`)
    }
  }
  await transport.stop()
  throw new NodeStartError(`could not join the cluster: ${failures.join('; ')}`)
}
