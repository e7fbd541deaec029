// The node workload's world: N simulated processes, each running the production NodeCore
// (packages/node) with only its edges swapped: the simulated peer network (node-peers.ts) and
// client connections (node-connections.ts) in place of libp2p, a LogStore over its own SimDisk
// in place of the real disk, and the process runtime's virtual clock and a seeded random. The
// metadata group is bootstrapped on every node (as cluster.json would hold it); every
// incarnation registers itself and ensures tenant `public` and namespace `public/default`.
// Crashes drop every connection of the process and crash its disk (a process crash, a power
// loss or a torn write); a storage failure that stops a Raft group (a failed fsync) stops the
// whole process, which restarts later like a supervised service. Every applied entry of the
// workload's partition goes to the queue oracles.
import { StorageFatalError, type Logger, type NodeId, type SeededRandom, type VirtualClock } from '@blazar/env'
import { DEFAULT_NODE_CONFIG, NodeCore, type GroupEvents, type HostedPartition, type NodeFaults } from '@blazar/node/core'
import { PartitionEntryKind } from '@blazar/protocol'
import type { RaftConfig } from '@blazar/raft'
import { LogStore, SimDisk, type CrashMode } from '@blazar/storage'
import { ConnectionClosedError, SimConnection, type ConnectionEnd, type SimClientEnd } from './node-connections.ts'
import { SimPeerNetwork, type PeerFrame } from './node-peers.ts'
import { NodeRuntime } from './node-runtime.ts'
import { SimNetwork } from './network.ts'
import type { QueueOracles } from './queue-oracles.ts'
import { CancelledSubscribeOracle } from './cancelled-subscribe-oracle.ts'

/** The node can no longer be reached: nothing was sent to it. */
export class NodeUnreachableError extends Error {
  static readonly code = 'NODE_DOWN'
  readonly code = NodeUnreachableError.code
  constructor (node: NodeId) {
    super(`node ${node} cannot be reached`)
    this.name = 'NodeUnreachableError'
  }
}

export interface NodeWorldOptions {
  clock: VirtualClock
  random: SeededRandom
  nodeIds: NodeId[]
  raftConfig: Partial<RaftConfig>
  faults?: NodeFaults
  oracles: QueueOracles
  /** The partition (Raft group) the workload's topic lives in. */
  group: string
  record: (line: string) => void
  /** How long a node must be marked down before its replicas move (virtual ms; the production default, longer than any fault phase, unless a scenario says). */
  reReplicationDelayMs?: number
}

export class SimNodeProcess {
  readonly id: NodeId
  readonly runtime: NodeRuntime
  readonly random: SeededRandom
  disk: SimDisk
  core: NodeCore | null = null
  peers: SimPeerNetwork | null = null

  constructor (id: NodeId, runtime: NodeRuntime, random: SeededRandom, disk: SimDisk) {
    this.id = id
    this.runtime = runtime
    this.random = random
    this.disk = disk
  }

  get end (): ConnectionEnd {
    return { id: this.id, runtime: this.runtime }
  }
}

export class NodeWorld {
  readonly clock: VirtualClock
  readonly network: SimNetwork<PeerFrame>
  readonly processes = new Map<NodeId, SimNodeProcess>()
  /** Errors thrown by node code (a failed assertion): the run fails with node-error. */
  readonly nodeErrors: string[] = []
  private readonly options: NodeWorldOptions
  private readonly connections = new Set<SimConnection>()
  /** Sees every request a node serves: a subscribe cancelled in flight must not attach. */
  private readonly subscribes: CancelledSubscribeOracle

  constructor (options: NodeWorldOptions) {
    this.options = options
    this.clock = options.clock
    this.subscribes = new CancelledSubscribeOracle(options.oracles)
    this.network = new SimNetwork<PeerFrame>({
      clock: this.clock,
      random: options.random.fork(),
      describe: (frame) => frame.kind === 'heartbeat' ? 'hb' : `${frame.message.group} ${frame.message.type} t${frame.message.term}`,
      onEvent: (line) => { if (!line.endsWith(' hb')) options.record(line) }
    })
    for (const id of options.nodeIds) {
      const runtime = new NodeRuntime(id, this.clock)
      const random = options.random.fork()
      const disk = new SimDisk({ clock: runtime.diskClock, random: random.fork() })
      const process = new SimNodeProcess(id, runtime, random, disk)
      this.processes.set(id, process)
      this.network.attach(id, {
        receive: (from, frame) => runtime.deliver(() => { this.guard(process, () => process.peers?.receive(from, frame)) })
      })
    }
  }

  /** Adds a line to the run's trace. */
  record (line: string): void {
    this.options.record(line)
  }

  ids (): NodeId[] {
    return [...this.processes.keys()]
  }

  process (id: NodeId): SimNodeProcess {
    const process = this.processes.get(id)
    if (process === undefined) throw new Error(`no node ${id}`)
    return process
  }

  start (): void {
    for (const process of this.processes.values()) this.startIncarnation(process)
  }

  crash (id: NodeId, mode: CrashMode): void {
    const process = this.process(id)
    if (process.runtime.state === 'crashed') return
    this.options.record(`crash ${id} ${mode}`)
    process.runtime.crash()
    process.peers?.stop()
    process.peers = null
    process.core = null
    process.disk = process.disk.crash(mode)
    for (const connection of [...this.connections]) {
      if (connection.touches(id)) this.dropConnection(connection, new ConnectionClosedError(`${id} crashed`))
    }
  }

  restart (id: NodeId): void {
    const process = this.process(id)
    if (process.runtime.state !== 'crashed') return
    this.options.record(`restart ${id}`)
    process.runtime.restart()
    this.startIncarnation(process)
  }

  pause (id: NodeId): void {
    const process = this.process(id)
    if (process.runtime.state !== 'up') return
    this.options.record(`pause ${id}`)
    process.runtime.pause()
  }

  resume (id: NodeId): void {
    const process = this.process(id)
    if (process.runtime.state !== 'paused') return
    this.options.record(`resume ${id}`)
    process.runtime.resume()
  }

  /** Cuts both directions between `side` and the other nodes; node-to-node connections across the cut break. */
  partition (name: string, side: NodeId[]): void {
    const inside = new Set(side)
    const links: Array<[NodeId, NodeId]> = []
    for (const a of this.ids()) for (const b of this.ids()) if (inside.has(a) && !inside.has(b)) links.push([a, b], [b, a])
    this.network.cut(name, links)
    for (const connection of [...this.connections]) {
      const { from, to } = connection
      if (!this.processes.has(from.id)) continue
      if (!this.network.connected(from.id, to.id) || !this.network.connected(to.id, from.id)) {
        this.dropConnection(connection, new ConnectionClosedError(`network cut between ${from.id} and ${to.id}`))
      }
    }
  }

  /**
   * Opens a client connection from `from` (a simulated client, or a node forwarding) to node
   * `to`; rejects with NodeUnreachableError when `to` is down or cut off from `from`.
   */
  async connect (from: ConnectionEnd, to: NodeId): Promise<SimClientEnd> {
    const target = this.processes.get(to)
    if (target === undefined) throw new NodeUnreachableError(to)
    const reachable = (): boolean => target.runtime.state !== 'crashed' &&
      (!this.processes.has(from.id) || (this.network.connected(from.id, to) && this.network.connected(to, from.id)))
    if (!reachable()) throw new NodeUnreachableError(to)
    const connection = new SimConnection({
      clock: this.clock,
      from,
      to: target.end,
      serve: () => {
        const core = target.core
        return core === null ? null : async (session, body) => await this.subscribes.observe(to, session, body, core.serve(session, body))
      }
    })
    this.connections.add(connection)
    connection.client.onClose(() => { this.connections.delete(connection) })
    return connection.client
  }

  /** The live node whose replica leads `group`, if any. */
  leaderOf (group: string): NodeId | null {
    let best: NodeId | null = null
    let bestTerm = -1
    for (const process of this.processes.values()) {
      if (process.runtime.state !== 'up') continue
      const hosted = process.core?.partitions.get(group)
      if (hosted === undefined || !hosted.replica.isLeading) continue
      const term = hosted.raft.status().term
      if (term > bestTerm) { best = process.id; bestTerm = term }
    }
    return best
  }

  /** The partition `group` as hosted on `node`'s live incarnation. */
  partitionOn (node: NodeId, group: string): HostedPartition | undefined {
    const process = this.processes.get(node)
    return process?.runtime.state === 'crashed' ? undefined : process?.core?.partitions.get(group)
  }

  /** Highest term of `group` on any live node. */
  maxTerm (group: string): number {
    let term = 0
    for (const process of this.processes.values()) {
      if (process.runtime.state === 'crashed') continue
      term = Math.max(term, process.core?.host.get(group)?.status().term ?? 0)
    }
    return term
  }

  private dropConnection (connection: SimConnection, reason: Error): void {
    this.connections.delete(connection)
    connection.break(reason)
  }

  private startIncarnation (process: SimNodeProcess): void {
    const { runtime, id } = process
    const incarnation = runtime.incarnation
    const live = (): boolean => runtime.incarnation === incarnation && runtime.state !== 'crashed'
    const env = { clock: runtime.processClock, random: process.random.fork(), logger: this.nodeLogger(id) }
    const peers = new SimPeerNetwork({
      self: id,
      clock: runtime.processClock,
      members: this.options.nodeIds,
      transmit: (to, frame) => { if (live() && runtime.state === 'up') this.network.send(id, to, frame) }
    })
    process.peers = peers
    const oracles = this.options.oracles
    oracles.replicaReset(id)
    const group = this.options.group
    // The group's replica on this node: a new one (the group closed after a replica move off this
    // node, then opened again when one moved back) replays its log from the start.
    let replica: HostedPartition | undefined
    const events: GroupEvents = {
      roleChanged: (changed, event) => { if (live() && changed === group) this.options.record(`role ${id} ${event.role} ${event.leader ?? '-'}`) },
      snapshotRestored: (restored) => { if (live() && restored === group) oracles.replicaReset(id) },
      applied: (applied, entry) => {
        if (!live() || applied !== group) return
        oracles.entryApplied(entry)
        if (entry.kind !== PartitionEntryKind.cursor && entry.kind !== PartitionEntryKind.subscription) return
        const hosted = process.core?.partitions.get(group)
        if (hosted === undefined) return
        if (replica !== undefined && replica !== hosted) oracles.replicaReset(id)
        replica = hosted
        oracles.cursorsApplied(id, entry.index, hosted.sm.subscriptions())
      },
      failed: (failed, error) => { if (live()) this.stopOnStorageFailure(process, `group ${failed} failed: ${String(error)}`) }
    }
    const disk = process.disk
    this.options.record(`start ${id}`)
    const starting = async (): Promise<void> => {
      const store = await LogStore.open(disk)
      if (!live()) return
      const core = new NodeCore({
        env,
        self: id,
        store,
        network: peers,
        clients: { connectClient: async (node) => await this.connect(process.end, node) },
        raftConfig: { ...this.options.raftConfig, quiesce: true },
        addresses: () => [`sim://${id}`],
        zone: null,
        knowsMember: (peer) => this.processes.has(peer),
        createDefaults: true,
        bootstrap: { voters: [...this.options.nodeIds], learners: [] },
        events,
        faults: this.options.faults,
        reReplicationDelayMs: this.options.reReplicationDelayMs ?? DEFAULT_NODE_CONFIG.reReplicationDelayMs
      })
      process.core = core
      await core.start()
    }
    starting().catch((error: unknown) => { if (live()) this.stopOnStorageFailure(process, `start failed: ${String(error)}`) })
  }

  /**
   * The store of `process` failed (a failed fsync, a full disk: never retried) or could not
   * open: the process stops, as a supervised service would, and restarts when the fault heals.
   */
  private stopOnStorageFailure (process: SimNodeProcess, why: string): void {
    const incarnation = process.runtime.incarnation
    this.options.record(`${process.id} stops: ${why}`)
    this.clock.setTimer(0, () => { if (process.runtime.incarnation === incarnation) this.crash(process.id, 'process') })
  }

  /** Runs node code; an exception it throws is a failed assertion in that node. */
  private guard (process: SimNodeProcess, work: () => void): void {
    const incarnation = process.runtime.incarnation
    try {
      work()
    } catch (error) {
      if (process.runtime.incarnation !== incarnation) return
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      // After its store failed, the node's code meets the failure everywhere until it stops.
      if (error instanceof StorageFatalError) { this.stopOnStorageFailure(process, message); return }
      this.nodeErrors.push(`${process.id}: ${message}`)
      this.options.record(`error ${process.id} ${message}`)
    }
  }

  private nodeLogger (id: NodeId): Logger {
    const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
      this.options.record(`${level} ${id} ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`)
    }
    const logger: Logger = { debug: () => {}, info: () => {}, warn: record('warn'), error: record('error'), child: () => logger }
    return logger
  }
}
