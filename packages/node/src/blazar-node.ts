// One Blazar node process: the NodeCore (metadata replica, hosted partitions, client gateway
// with forwarding) on its real edges: the libp2p transport (peer Raft links with liveness,
// client connections, joins), the node-wide log store on the real disk, the Pulsar protocol
// listener (served by the same gateway) and the HTTP endpoint. Handles creating a cluster
// (--init), joining one (--join, with the cluster secret), restarting from the data dir,
// keeping the raft allowlist equal to the cluster's members, and a clean shutdown that hands
// leadership off.
import { mkdir, writeFile } from 'node:fs/promises'
import { join as joinPath } from 'node:path'
import type { Env, NodeId } from '@blazar/env'
import { errorFromWire } from '@blazar/protocol'
import type { RaftMessage } from '@blazar/raft'
import { LogStore, NodeDisk } from '@blazar/storage'
import { MathRandom, Transport } from '@blazar/transport'
import type { FastifyInstance } from 'fastify'
import { nodeStatus } from './admin-handlers.ts'
import { ClusterFileWriter, readClusterFile, type ClusterFile } from './cluster-file.ts'
import type { NodeConfig } from './config.ts'
import { startHttpServer } from './http-server.ts'
import { metadataWrite } from './metadata-writes.ts'
import { NodeCore } from './node-core.ts'
import type { PinoLogger } from './pino-logger.ts'
import { NodeMetrics } from './metrics/node-metrics.ts'
import { TimedDisk } from './metrics/timed-disk.ts'
import { PulsarListener } from './pulsar/pulsar-listener.ts'
import { WallClock } from './wall-clock.ts'

export { REGISTRATION_CHECK_MS, SHUTDOWN_TRANSFER_TIMEOUT_MS } from './node-core.ts'
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
  transport: Transport
  store: LogStore
  core: NodeCore
}

export class BlazarNode {
  readonly id: NodeId
  private readonly parts: Parts
  private cluster: ClusterFile
  private readonly clusterFile: ClusterFileWriter
  private http: FastifyInstance | undefined
  private pulsar: PulsarListener | undefined
  private stopping: Promise<void> | undefined

  private constructor (parts: Parts, cluster: ClusterFile, clusterFile: ClusterFileWriter) {
    this.parts = parts
    this.id = parts.transport.id
    this.cluster = cluster
    this.clusterFile = clusterFile
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
    let core: NodeCore | undefined
    const metrics = new NodeMetrics({
      clusterName: config.clusterName,
      maxTopicSeries: config.metricsMaxTopics,
      partitions: () => (core as NodeCore).partitions,
      host: () => (core as NodeCore).host,
      store: () => store,
      transport: () => transport.counters()
    })
    const disk = new TimedDisk(new NodeDisk(joinPath(config.dataDir, 'raft')), (kind, seconds) => { metrics.fsyncSeconds.observe({ kind }, seconds) })
    const store = await LogStore.open(disk, { settings: { segmentBytes: config.segmentBytes } })
    let node: BlazarNode | undefined
    const known = cluster
    core = new NodeCore({
      env,
      self,
      store,
      network: transport.raftNetwork<RaftMessage>(),
      clients: transport,
      raftConfig: { electionTimeoutMs: config.electionTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs, quiesce: true },
      addresses: () => transport.addresses(),
      zone: config.zone,
      knowsMember: (peer) => node?.knowsMember(peer) ?? known.members.some((member) => member.id === peer),
      createDefaults,
      bootstrap: cluster.bootstrapVoters === null ? undefined : { voters: cluster.bootstrapVoters, learners: [] },
      membersChanged: () => { node?.membersChanged() },
      events: metrics.groupEvents,
      onForward: (type) => { metrics.forwarded.inc({ type }) },
      reReplicationDelayMs: config.reReplicationDelayMs,
      policies: {
        retentionCheckIntervalMs: config.retentionCheckIntervalMs,
        messageExpiryCheckIntervalMs: config.messageExpiryCheckIntervalMs,
        backlogQuotaCheckIntervalMs: config.backlogQuotaCheckIntervalMs,
        compactionCheckIntervalMs: config.compactionCheckIntervalMs,
        backlogQuotaHoldMs: config.backlogQuotaHoldMs,
        snapshotAfterTrimmedBytes: config.segmentBytes
      }
    })
    const started = core
    node = new BlazarNode({ config, logger, clock, transport, store, core: started }, cluster, clusterFile)
    const running = node
    await running.applyMembers()
    await started.start()
    transport.onClientRequest(async (request) => await started.serve(request.session, request.body))
    transport.onJoin(async ({ peer, body }) => await running.admit(peer, body))
    if (config.pulsarPort !== 0) {
      try {
        running.pulsar = await PulsarListener.start({
          host: config.pulsarHost,
          port: config.pulsarPort,
          serve: async (session, body) => await started.serve(session, body),
          clock,
          logger: logger.child({ component: 'pulsar' })
        })
      } catch (error) {
        await running.stop()
        throw new NodeStartError(`cannot listen for Pulsar clients on ${config.pulsarHost}:${config.pulsarPort}: ${String(error)}`, { cause: error })
      }
    }
    if (config.httpPort !== 0) {
      const http = await startHttpServer({
        host: config.httpHost,
        port: config.httpPort,
        health: () => ({ id: self, name: config.nodeName, metadataLeader: started.metadata.leader() }),
        status: () => ({ ...nodeStatus(started.context), pulsar: running.pulsar?.counters.snapshot() ?? null }),
        admin: {
          serve: async (body) => await started.serveAdmin(body),
          clusterName: config.clusterName,
          nodes: () => started.metadata.sm.nodes().map((record) => record.id),
          serviceUrl: () => `http://${config.httpHost}:${config.httpPort}`
        },
        metrics: async () => await metrics.scrape()
      })
      running.http = http.server
    }
    await writeFile(joinPath(config.dataDir, ADDRESSES_FILE), transport.addresses().join('\n') + '\n')
    logger.info('node started', { id: self, name: config.nodeName, addresses: transport.addresses(), pulsarPort: running.pulsar?.port ?? null, dataDir: config.dataDir })
    return running
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
    const { clock, logger, transport, store, core } = this.parts
    await core.handOffLeadership()
    await this.pulsar?.stop()
    await this.http?.close()
    await core.stop()
    await store.close()
    await transport.stop()
    clock.stop()
    logger.info('node stopped', { id: this.id })
    logger.flush()
  }

  /** A node asked to join with the right secret: record it in the metadata, answer the members. */
  private async admit (peer: NodeId, body: unknown): Promise<{ accepted: true, body: unknown } | { accepted: false, reason: string }> {
    const request = body as { addresses?: unknown, zone?: unknown } | null
    const addresses = Array.isArray(request?.addresses) ? request.addresses.filter((a): a is string => typeof a === 'string') : []
    const zone = typeof request?.zone === 'string' ? request.zone : null
    const reply = await metadataWrite(this.parts.core.context, true, { type: 'nodes-register', id: peer, addresses, zone })
    if (!reply.ok) return { accepted: false, reason: errorFromWire(reply.error).message }
    await this.parts.core.metadata.barrier().catch(() => {})
    // This node may not be in the metadata yet (a join right after --init), so it names itself
    // and every member it knows of: the joiner must be able to reach someone to catch up.
    const members = new Map(this.cluster.members.map((member) => [member.id, member.addresses]))
    for (const node of this.parts.core.metadata.sm.nodes()) members.set(node.id, node.addresses)
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
    const { transport, core } = this.parts
    const metadata = core.metadata
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
