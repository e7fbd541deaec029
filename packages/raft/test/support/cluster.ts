// A deterministic in-process cluster for tests: RaftNodes on one VirtualClock, a network with a
// fixed 1 ms delay, partitions checked at delivery, MemoryRaftStorage with a 1 ms sync, and
// crash/restart that loses unsynced writes. Two small oracles run after every step: committed
// entries agree across nodes, and a leader holds every committed entry.
import { CallbackLogger, type LogEntry, type MembershipConfig, type NodeId, SeededRandom, type SnapshotMeta, VirtualClock } from '@blazar/env'
import { type RaftConfig, type RaftFaults, type RaftMessage, RaftNode, type StateMachine } from '../../src/index.ts'
import { MemoryRaftStorage } from '../../src/memory-storage.ts'

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** A register map: `key=value` entries (kind 1) set keys; snapshots are JSON. */
export class KvStateMachine implements StateMachine {
  values = new Map<string, string>()
  applied: LogEntry[] = []
  apply (entry: LogEntry): void {
    this.applied.push(entry)
    if (entry.kind !== 1) return
    const text = decoder.decode(entry.data)
    const eq = text.indexOf('=')
    if (eq > 0) this.values.set(text.slice(0, eq), text.slice(eq + 1))
    else this.values.set(text, text)
  }

  snapshot (): Uint8Array { return encoder.encode(JSON.stringify([...this.values])) }

  restore (data: Uint8Array, _meta: SnapshotMeta): void {
    this.values = new Map(JSON.parse(decoder.decode(data)) as Array<[string, string]>)
  }
}

export interface Member {
  id: NodeId
  node: RaftNode
  storage: MemoryRaftStorage
  sm: KvStateMachine
  alive: boolean
  config: Partial<RaftConfig>
  faults: RaftFaults
  bootstrap: MembershipConfig | undefined
}

export const testConfig: Partial<RaftConfig> = { electionTimeoutMs: 1000, heartbeatIntervalMs: 100 }

export class Cluster {
  readonly clock = new VirtualClock()
  readonly random: SeededRandom
  readonly members = new Map<NodeId, Member>()
  readonly logs: string[] = []
  /** Committed entries (index -> entry term, and the committing node's term) as first seen by any node. */
  readonly committed = new Map<number, { term: number, atTerm: number }>()
  readonly violations: string[] = []
  private groups: NodeId[][] | undefined
  private readonly blocked = new Set<string>()
  /** Appends from A to B lose their entries at or above the index (the prefix still arrives). */
  private readonly blockedEntries = new Map<string, number>()
  /** Leader seen per term (oracle: at most one leader per term). */
  readonly leaderOfTerm = new Map<number, NodeId>()
  delivered = 0
  /** Network faults for randomized runs: loss and duplication probabilities, extra delay up to maxDelayMs. */
  faults = { drop: 0, duplicate: 0, maxDelayMs: 0 }
  private netRandom: SeededRandom

  constructor (seed = 1) {
    this.random = new SeededRandom(seed)
    this.netRandom = this.random.fork()
  }

  add (id: NodeId, bootstrap: MembershipConfig | undefined, config: Partial<RaftConfig>, faults: RaftFaults = {}): Member {
    const storage = new MemoryRaftStorage({ clock: this.clock, syncLatencyMs: 1 })
    const member: Member = { id, node: undefined as unknown as RaftNode, storage, sm: new KvStateMachine(), alive: true, config, faults, bootstrap }
    this.members.set(id, member)
    this.boot(member)
    return member
  }

  private boot (member: Member): void {
    member.sm = new KvStateMachine()
    const logger = new CallbackLogger((record) => {
      if (record.level === 'error') this.logs.push(`${record.message} ${JSON.stringify(record.fields)}`)
    })
    member.node = new RaftNode({
      id: member.id,
      group: 'g',
      env: { clock: this.clock, random: this.random.fork(), logger },
      storage: member.storage,
      send: (to, message) => this.transmit(member.id, to, message),
      stateMachine: member.sm,
      bootstrap: member.bootstrap,
      config: { ...testConfig, ...member.config },
      faults: member.faults,
      observer: {
        onCommit: () => this.checkCommitted(member),
        onRoleChange: (event) => {
          if (event.role !== 'leader') return
          const known = this.leaderOfTerm.get(event.term)
          if (known === undefined) this.leaderOfTerm.set(event.term, member.id)
          else if (known !== member.id) this.note(`two leaders in term ${event.term}: ${known} and ${member.id}`)
        },
        onFailure: (error) => this.violations.push(`${member.id} failed: ${String(error)}`)
      }
    })
    member.node.start()
  }

  get (id: NodeId): Member {
    const member = this.members.get(id)
    if (member === undefined) throw new Error(`no node ${id}`)
    return member
  }

  crash (id: NodeId): void {
    const member = this.get(id)
    member.node.stop()
    member.storage.crash()
    member.alive = false
  }

  restart (id: NodeId): void {
    const member = this.get(id)
    if (member.alive) this.crash(id)
    member.alive = true
    this.boot(member)
  }

  partition (groups: NodeId[][] | undefined): void {
    this.groups = groups
  }

  /** Drops messages of `type` from `from` to `to` until unblocked. */
  block (from: NodeId, to: NodeId, type: string): void { this.blocked.add(`${from}>${to}>${type}`) }
  blockEntries (from: NodeId, to: NodeId, index: number): void { this.blockedEntries.set(`${from}>${to}`, index) }
  unblockAll (): void {
    this.blocked.clear()
    this.blockedEntries.clear()
  }

  /** Replaces node `id`'s storage with a log of the given terms (as if synced) and restarts it. */
  async setLog (id: NodeId, terms: number[], hardTerm: number): Promise<void> {
    const member = this.get(id)
    if (member.alive) this.crash(id)
    const storage = new MemoryRaftStorage({ clock: this.clock, syncLatencyMs: 1 })
    storage.append(terms.map((term, i) => ({ index: i + 1, term, kind: 1, data: encoder.encode(`e${i + 1}`) })))
    storage.setHardState({ term: hardTerm, vote: null, commit: 0 })
    const synced = storage.sync()
    await this.clock.runUntil(this.clock.now() + 1)
    await synced
    member.storage = storage
    this.restart(id)
  }

  connected (a: NodeId, b: NodeId): boolean {
    if (this.groups === undefined) return true
    return this.groups.some((group) => group.includes(a) && group.includes(b))
  }

  private transmit (from: NodeId, to: NodeId, message: RaftMessage): void {
    if (this.faults.drop > 0 && this.netRandom.chance(this.faults.drop)) return
    const copies = this.faults.duplicate > 0 && this.netRandom.chance(this.faults.duplicate) ? 2 : 1
    for (let i = 0; i < copies; i++) this.deliverLater(from, to, message)
  }

  private deliverLater (from: NodeId, to: NodeId, message: RaftMessage): void {
    const delay = 1 + (this.faults.maxDelayMs > 0 ? this.netRandom.int(0, this.faults.maxDelayMs) : 0)
    this.clock.setTimer(delay, () => {
      const target = this.members.get(to)
      if (target === undefined || !target.alive || !this.get(from).alive || !this.connected(from, to)) return
      if (this.blocked.has(`${from}>${to}>${message.type}`) || this.blocked.has(`${from}>${to}>*`)) return
      const floor = this.blockedEntries.get(`${from}>${to}`)
      if (floor !== undefined && message.type === 'append') {
        message = { ...message, entries: message.entries.filter((entry) => entry.index < floor) }
      }
      this.delivered++
      target.node.step(from, message)
      this.checkCommitted(target)
    })
  }

  async run (ms: number): Promise<void> {
    const until = this.clock.now() + ms
    while (this.clock.step(until)) {
      await settle()
      this.checkAll()
    }
    await this.clock.runUntil(until)
  }

  /** Runs in 1 ms steps until `done` holds; returns whether it did within `maxMs`. */
  async runUntil (done: () => boolean, maxMs = 10_000): Promise<boolean> {
    for (let i = 0; i < maxMs; i++) {
      if (done()) return true
      await this.run(1)
    }
    return done()
  }

  leaders (): NodeId[] {
    return [...this.members.values()].filter((m) => m.alive && m.node.status().role === 'leader').map((m) => m.id)
  }

  checkAll (): void {
    for (const member of this.members.values()) this.checkCommitted(member)
  }

  /** Oracle: an entry a node has committed is the same (same term) on every node that holds that index. */
  private checkCommitted (member: Member): void {
    if (!member.alive) return
    const status = member.node.status()
    const entries = member.storage.entriesForInspection()
    for (const entry of entries) {
      if (entry.index > status.commitIndex) break
      const known = this.committed.get(entry.index)
      if (known === undefined) this.committed.set(entry.index, { term: entry.term, atTerm: status.term })
      else if (known.term !== entry.term) this.note(`committed entry ${entry.index} has term ${entry.term} on ${member.id}, ${known.term} elsewhere`)
    }
    if (status.role !== 'leader') return
    // Leader completeness: a leader of a later term holds every entry committed before its term.
    for (const entry of entries) {
      const known = this.committed.get(entry.index)
      if (known !== undefined && known.atTerm < status.term && known.term !== entry.term) {
        this.note(`leader ${member.id} of term ${status.term} holds term ${entry.term} at committed index ${entry.index} (committed term ${known.term})`)
      }
    }
  }

  note (violation: string): void {
    if (!this.violations.includes(violation)) this.violations.push(violation)
  }
}

function settle (): Promise<void> {
  return new Promise((resolve) => { setImmediate(resolve) })
}

/**
 * Voters 1, 2 and 3 with node 1 elected and its first entry committed. `settled`: also until
 * every node applied it, then 300 virtual ms more (the followers' syncs and acks done).
 */
export async function threeNodesLedByOne (options: { settled?: boolean } = {}): Promise<Cluster> {
  const c = new Cluster(3)
  const voters = ['1', '2', '3']
  for (const id of voters) c.add(id, { voters, learners: [] }, {})
  await c.run(5)
  c.get('1').node.campaign()
  if (options.settled === true) {
    await c.runUntil(() => c.leaders().length === 1 && [...c.members.values()].every((m) => m.node.status().appliedIndex >= 1))
    await c.run(300)
  } else {
    await c.runUntil(() => c.leaders().length === 1 && c.get('1').node.status().commitIndex >= 1)
  }
  return c
}

export function text (entry: LogEntry): string {
  return entry.kind === 0 ? (entry.data.length === 0 ? '·' : 'conf') : decoder.decode(entry.data)
}

export { encoder }
