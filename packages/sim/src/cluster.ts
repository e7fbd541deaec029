// The cluster harness: N simulated nodes of one Raft group on one VirtualClock, wired to the
// simulated network, each with its own MemoryRaftStorage, KV register state machine, runtime
// (pause/crash/freeze) and oracle hooks. It offers the precise controls scenarios need:
// crash/restart (losing unsynced writes), pause/resume, freezing a node's Raft timers,
// crashing at a storage boundary, membership changes, and client calls routed to a node.
// A workload other than the KV registers hosts its own state machine on each incarnation
// through `application` (the broker workload: a partition state machine and replica).
import { MemoryRaftStorage, RaftNode } from '@blazar/raft'
import type { RaftConfig, RaftFaults, RaftMessage, RoleName, StateMachine } from '@blazar/raft'
import type { Env, HardState, Logger, MembershipConfig, NodeId, SeededRandom, VirtualClock } from '@blazar/env'
import { KvRegisterMachine } from './kv-register.ts'
import { SimNetwork } from './network.ts'
import { NodeRuntime } from './node-runtime.ts'
import { ObservedStorage, type StorageBoundary } from './observed-storage.ts'
import type { Oracles } from './oracles.ts'
import type { Trace } from './trace.ts'

export const GROUP = 'sim'

export class NodeDownError extends Error {
  static readonly code = 'NODE_DOWN'
  readonly code = NodeDownError.code
  constructor (node: NodeId) {
    super(`node ${node} is down`)
    this.name = 'NodeDownError'
  }
}

/** What one node incarnation hosts on its Raft group instead of the KV registers. */
export interface NodeApplication {
  readonly stateMachine: StateMachine
  /** Every Raft role change of the live incarnation. */
  roleChanged? (role: RoleName, term: number, leader: NodeId | null): void
  /** The process crashed: its connections drop. */
  crashed? (): void
}

export interface ApplicationContext {
  node: SimNode
  /** The incarnation's RaftNode. */
  raft: RaftNode
  /** The incarnation's environment (process clock: held by a pause, cancelled by a crash). */
  env: Env
  /** Whether this incarnation is still the node's live one. */
  live: () => boolean
  /** Reports the state digest after applying `index` (state machine safety across replicas). */
  stateReached: (index: number, digest: number) => void
}

export type ApplicationFactory = (context: ApplicationContext) => NodeApplication

export interface ClusterOptions {
  clock: VirtualClock
  random: SeededRandom
  trace: Trace
  oracles: Oracles
  nodeIds: NodeId[]
  raftConfig: Partial<RaftConfig>
  faults?: RaftFaults
  /** Disk sync latency range per node [min, max) in ms. */
  syncLatencyMs?: [number, number]
  /** Hosts an application on each incarnation instead of the KV register machine. */
  application?: ApplicationFactory
}

export class SimNode {
  readonly id: NodeId
  readonly runtime: NodeRuntime
  readonly storage: MemoryRaftStorage
  readonly random: SeededRandom
  raft: RaftNode | null = null
  kv: KvRegisterMachine = new KvRegisterMachine()
  /** The live incarnation's application, when the cluster hosts one. */
  app: NodeApplication | null = null
  view: ObservedStorage | null = null
  /** Scenario hook: called at every storage write boundary of the live incarnation. */
  onBoundary: ((boundary: StorageBoundary, hardState?: HardState) => void) | null = null
  /** Client calls that have not reached Raft yet (rejected with NodeDownError on crash). */
  readonly waiting = new Set<(error: Error) => void>()

  constructor (id: NodeId, runtime: NodeRuntime, storage: MemoryRaftStorage, random: SeededRandom) {
    this.id = id
    this.runtime = runtime
    this.storage = storage
    this.random = random
  }
}

export class Cluster {
  readonly clock: VirtualClock
  readonly network: SimNetwork<RaftMessage>
  readonly nodes = new Map<NodeId, SimNode>()
  readonly oracles: Oracles
  private readonly trace: Trace
  private readonly random: SeededRandom
  private readonly raftConfig: Partial<RaftConfig>
  private readonly faults: RaftFaults | undefined
  private readonly syncLatencyMs: [number, number]
  private readonly application: ApplicationFactory | undefined
  readonly initialMembers: NodeId[]
  /** Errors thrown by a node's own code (a failed assertion stops that node). */
  readonly nodeErrors: string[] = []

  constructor (options: ClusterOptions) {
    this.clock = options.clock
    this.trace = options.trace
    this.oracles = options.oracles
    this.random = options.random
    this.raftConfig = options.raftConfig
    this.faults = options.faults
    this.syncLatencyMs = options.syncLatencyMs ?? [0, 3]
    this.application = options.application
    this.initialMembers = [...options.nodeIds]
    this.network = new SimNetwork<RaftMessage>({
      clock: this.clock,
      random: this.random.fork(),
      describe: describeMessage,
      onEvent: (line) => this.record(line)
    })
    for (const id of options.nodeIds) this.createNode(id)
  }

  record (line: string): void {
    this.trace.record(this.clock.now(), line)
  }

  /** Starts every node that was created with the bootstrap membership. */
  start (): void {
    const bootstrap: MembershipConfig = { voters: [...this.initialMembers], learners: [] }
    for (const id of this.initialMembers) this.startIncarnation(this.node(id), bootstrap)
  }

  node (id: NodeId): SimNode {
    const node = this.nodes.get(id)
    if (node === undefined) throw new Error(`no node ${id}`)
    return node
  }

  ids (): NodeId[] {
    return [...this.nodes.keys()]
  }

  /** Adds a process with empty storage (not yet a member; see addLearner/promote). */
  addProcess (id: NodeId): SimNode {
    const node = this.createNode(id)
    this.startIncarnation(node, undefined)
    return node
  }

  /** The live node that believes it leads the highest term, if any. */
  leader (): NodeId | null {
    let best: NodeId | null = null
    let bestTerm = -1
    for (const node of this.nodes.values()) {
      if (node.runtime.state !== 'up' || node.raft === null) continue
      const status = node.raft.status()
      if (status.role === 'leader' && status.term > bestTerm) {
        best = node.id
        bestTerm = status.term
      }
    }
    return best
  }

  /** Highest term any live node is in. */
  maxTerm (): number {
    let term = 0
    for (const node of this.nodes.values()) {
      if (node.raft !== null && node.runtime.state !== 'crashed') term = Math.max(term, node.raft.status().term)
    }
    return term
  }

  crash (id: NodeId): void {
    const node = this.node(id)
    if (node.runtime.state === 'crashed') return
    this.record(`crash ${id}`)
    node.runtime.crash()
    node.view?.kill()
    this.oracles.nodeCrashed(id)
    // The disk loses its unsynced writes once the current call stack unwinds: a crash at a
    // storage boundary happens inside the node's own call, whose remaining code must still see
    // the log it just wrote (its later writes are dropped again at restart).
    queueMicrotask(() => node.storage.crash())
    const raft = node.raft
    node.raft = null
    for (const reject of [...node.waiting]) reject(new NodeDownError(id))
    node.waiting.clear()
    const app = node.app
    node.app = null
    app?.crashed?.()
    // Stop the old incarnation after the current call stack unwinds: it may be mid-method
    // (crash at a storage boundary), and its writes and sends are already cut off above.
    if (raft !== null) this.clock.setTimer(0, () => this.guard(id, () => raft.stop()))
  }

  restart (id: NodeId): void {
    const node = this.node(id)
    if (node.runtime.state !== 'crashed') return
    this.record(`restart ${id}`)
    // Whatever the dying incarnation wrote after the crash point was never synced: drop it.
    node.storage.crash()
    node.runtime.restart()
    this.startIncarnation(node, this.initialMembers.includes(id) ? { voters: [...this.initialMembers], learners: [] } : undefined)
  }

  pause (id: NodeId): void {
    const node = this.node(id)
    if (node.runtime.state !== 'up') return
    this.record(`pause ${id}`)
    node.runtime.pause()
  }

  resume (id: NodeId): void {
    const node = this.node(id)
    if (node.runtime.state !== 'paused') return
    this.record(`resume ${id}`)
    node.runtime.resume()
  }

  freezeTimers (id: NodeId): void {
    this.record(`freeze ${id}`)
    this.node(id).runtime.freezeTimers()
  }

  thawTimers (id: NodeId): void {
    this.record(`thaw ${id}`)
    this.node(id).runtime.thawTimers()
  }

  /** Cuts both directions between every node of `side` and every node outside it. */
  partition (name: string, side: NodeId[]): void {
    const inside = new Set(side)
    const links: Array<[NodeId, NodeId]> = []
    for (const a of this.ids()) {
      for (const b of this.ids()) if (inside.has(a) && !inside.has(b)) links.push([a, b], [b, a])
    }
    this.network.cut(name, links)
  }

  /**
   * Runs `call` against node `id`'s Raft as a client request: it reaches the node after a
   * short delay, waits while the node is paused, and fails with NodeDownError if the node is
   * down when it arrives or crashes before it is handed over.
   */
  request<T> (id: NodeId, call: (raft: RaftNode, node: SimNode) => Promise<T>): Promise<T> {
    const node = this.node(id)
    return new Promise<T>((resolve, reject) => {
      if (node.runtime.state === 'crashed') {
        reject(new NodeDownError(id))
        return
      }
      node.waiting.add(reject)
      this.clock.setTimer(1, () => {
        if (!node.waiting.has(reject)) return
        node.runtime.deliver(() => {
          node.waiting.delete(reject)
          const raft = node.raft
          if (raft === null) {
            reject(new NodeDownError(id))
            return
          }
          let pending: Promise<T>
          try {
            pending = call(raft, node)
          } catch (error) {
            reject(error)
            return
          }
          pending.then(resolve, reject)
        })
        if (node.runtime.state === 'crashed' && node.waiting.delete(reject)) reject(new NodeDownError(id))
      })
    })
  }

  private createNode (id: NodeId): SimNode {
    const runtime = new NodeRuntime(id, this.clock)
    const random = this.random.fork()
    const [min, max] = this.syncLatencyMs
    const storage = new MemoryRaftStorage({ clock: runtime.diskClock, syncLatencyMs: random.int(min, max) })
    const node = new SimNode(id, runtime, storage, random)
    this.nodes.set(id, node)
    this.network.attach(id, {
      receive: (from, message) => node.runtime.deliver(() => {
        const raft = node.raft
        if (raft !== null) this.guard(id, () => raft.step(from, message))
      })
    })
    return node
  }

  private startIncarnation (node: SimNode, bootstrap: MembershipConfig | undefined): void {
    const id = node.id
    const incarnation = node.runtime.incarnation
    const oracles = this.oracles
    const live = (): boolean => node.runtime.incarnation === incarnation
    const kv = new KvRegisterMachine((index, digest) => {
      if (live()) oracles.stateReached(id, index, digest)
    })
    const view = new ObservedStorage({
      inner: node.storage,
      node: id,
      oracles,
      onBoundary: (boundary, hardState) => node.onBoundary?.(boundary, hardState)
    })
    node.kv = kv
    node.view = view
    let app: NodeApplication | null = null
    const raft: RaftNode = new RaftNode({
      id,
      group: GROUP,
      env: { clock: node.runtime.processClock, random: node.random.fork(), logger: this.nodeLogger(id) },
      storage: view,
      send: (to, message) => {
        if (node.runtime.incarnation === incarnation && node.runtime.state === 'up') this.network.send(id, to, message)
      },
      stateMachine: {
        apply: (entry) => {
          if (live()) oracles.applied(id, entry)
          if (app === null) kv.apply(entry)
          else app.stateMachine.apply(entry)
        },
        snapshot: () => app === null ? kv.snapshot() : app.stateMachine.snapshot(),
        compactableIndex: () => app?.stateMachine.compactableIndex?.() ?? Number.MAX_SAFE_INTEGER,
        restore: (data, meta) => {
          if (live()) {
            this.record(`restore ${id} ${meta.index}:${meta.term}`)
            oracles.restored(id, meta)
          }
          if (app === null) kv.restore(data, meta)
          else app.stateMachine.restore(data, meta)
        }
      },
      bootstrap,
      config: this.raftConfig,
      faults: this.faults,
      // A crashed incarnation may still finish the call it was in; the oracles ignore it.
      observer: {
        onRoleChange: (event) => {
          if (!live()) return
          this.record(`role ${id} ${event.role} t${event.term} ${event.leader ?? '-'}`)
          if (event.role === 'leader') oracles.leaderElected(id, event.term, view)
          app?.roleChanged?.(event.role, event.term, event.leader)
        },
        onCommit: (commitIndex) => {
          if (live()) oracles.committed(id, commitIndex, raft.status().term, view)
        },
        onFailure: (error) => {
          if (!live()) return
          const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
          this.nodeErrors.push(`${id}: ${message}`)
          this.record(`failure ${id} ${message}`)
        }
      }
    })
    if (this.application !== undefined) {
      app = this.application({
        node,
        raft,
        env: { clock: node.runtime.processClock, random: node.random.fork(), logger: this.nodeLogger(id) },
        live,
        stateReached: (index, digest) => { if (live()) oracles.stateReached(id, index, digest) }
      })
    }
    node.app = app
    node.raft = raft
    oracles.nodeStarted(id, view)
    this.record(`start ${id} ${view.firstIndex()}-${view.lastIndex()}`)
    this.guard(id, () => raft.start())
  }

  /** Runs node code; an exception it throws is a failed assertion in that node. */
  private guard (id: NodeId, work: () => void): void {
    const incarnation = this.nodes.get(id)?.runtime.incarnation
    try {
      work()
    } catch (error) {
      if (this.nodes.get(id)?.runtime.incarnation !== incarnation) return
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      this.nodeErrors.push(`${id}: ${message}`)
      this.record(`error ${id} ${message}`)
    }
  }

  private nodeLogger (id: NodeId): Logger {
    const record = (level: string) => (message: string) => this.record(`${level} ${id} ${message}`)
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: record('warn'),
      error: record('error'),
      child: () => logger
    }
    return logger
  }
}

function describeMessage (message: RaftMessage): string {
  switch (message.type) {
    case 'append': return `append t${message.term} p${message.prevIndex}/${message.prevTerm} n${message.entries.length} c${message.commit}`
    case 'appendResponse': return `appendResponse t${message.term} i${message.index}${message.reject ? ' reject' : ''}`
    case 'vote':
    case 'preVote': return `${message.type} t${message.term} last${message.lastIndex}/${message.lastTerm}`
    case 'voteResponse':
    case 'preVoteResponse': return `${message.type} t${message.term} ${message.granted ? 'yes' : 'no'}`
    case 'heartbeat': return `heartbeat t${message.term} c${message.commit}`
    case 'snapshot': return `snapshot t${message.term} ${message.meta.index}/${message.meta.term} @${message.offset}`
    case 'snapshotResponse': return `snapshotResponse t${message.term} ${message.index} ${message.received}${message.done ? ' done' : ''}`
    default: return `${message.type} t${message.term}`
  }
}
