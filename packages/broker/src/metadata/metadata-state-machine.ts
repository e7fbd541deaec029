// The metadata group's state machine (DESIGN.md §7): nodes, tenants, namespaces with their
// policies, topics (non-partitioned, or partitioned with N partitions) and the placement of
// every partition group. Commands are validated at apply time, identically on every replica:
// an invalid command changes nothing and records a typed error as its outcome. `check` runs
// the same validation without applying, so a leader can refuse a bad command before
// proposing it.
import type { LogEntry, Logger, NodeId, SnapshotMeta } from '@blazar/env'
import {
  BlazarError, InvalidArgumentError, InvalidPartitionCountError, InvalidTopicNameError, NamespaceAlreadyExistsError,
  NamespaceNotEmptyError, NON_PARTITIONED, TenantAlreadyExistsError, TenantNotEmptyError, TopicAlreadyExistsError,
  UnknownNamespaceError, UnknownNodeError, UnknownTenantError, UnknownTopicError, errorToWire, pack, parseNamespaceName,
  parseTopicName, partitionTopicName, unpack, validateTenantName, type WireError
} from '@blazar/protocol'
import { RecentOutcomes } from '../partition/outcomes.ts'
import { RAFT_INTERNAL_KIND, assert, type StateMachine } from '../state-machine.ts'
import { decodeMetadataCommand, type MetadataCommand } from './metadata-commands.ts'
import { metadataSnapshotSchema } from './metadata-snapshot.ts'
import { DEFAULT_NAMESPACE_POLICIES, withPolicies, type NamespacePolicies } from './policies.ts'
import { loadOf, placeGroups, type GroupPlacement, type PlacementNode } from './placement.ts'

export type NodeState = 'active' | 'draining' | 'down'

export interface NodeRecord {
  id: NodeId
  addresses: string[]
  zone: string | null
  state: NodeState
}

export interface TenantRecord {
  name: string
  adminRoles: string[]
  allowedClusters: string[]
}

export interface NamespaceRecord {
  name: string
  policies: NamespacePolicies
}

export interface TopicRecord {
  /** Full name, `persistent://tenant/namespace/topic`. */
  name: string
  /** 0 for a non-partitioned topic. */
  partitions: number
}

export type MetadataOutcome =
  | { kind: 'ok', placements: Array<{ group: string, placement: GroupPlacement }> }
  | { kind: 'rejected', error: WireError }

/**
 * A replica move in flight: the placement already names `to` instead of `from`; `from` keeps
 * its replica until the partition's leader has made the Raft membership match the placement
 * (`to` added as a learner, caught up, promoted; `from` removed) and reported it.
 */
export interface ReplicaMove {
  from: NodeId
  to: NodeId
}

export interface MetadataState {
  nodes: Map<NodeId, NodeRecord>
  tenants: Map<string, TenantRecord>
  namespaces: Map<string, NamespaceRecord>
  topics: Map<string, TopicRecord>
  placements: Map<string, GroupPlacement>
  moves: Map<string, ReplicaMove>
}

function emptyState (): MetadataState {
  return { nodes: new Map(), tenants: new Map(), namespaces: new Map(), topics: new Map(), placements: new Map(), moves: new Map() }
}

/** The Raft group ids of a topic: itself when non-partitioned, else one per partition. */
export function groupsOfTopic (topic: TopicRecord): string[] {
  if (topic.partitions === 0) return [topic.name]
  return Array.from({ length: topic.partitions }, (_, i) => partitionTopicName(topic.name, i))
}

export class MetadataStateMachine implements StateMachine {
  private readonly logger: Logger
  private readonly outcomes = new RecentOutcomes<MetadataOutcome>()
  private state = emptyState()
  private lastApplied = 0

  constructor (options: { logger: Logger }) {
    this.logger = options.logger
  }

  apply (entry: LogEntry): void {
    assert(entry.index > this.lastApplied, `metadata: applied ${entry.index} after ${this.lastApplied}`)
    this.lastApplied = entry.index
    if (entry.kind === RAFT_INTERNAL_KIND) return
    let outcome: MetadataOutcome
    try {
      outcome = { kind: 'ok', placements: this.execute(decodeMetadataCommand(entry.kind, entry.data), true) }
    } catch (error) {
      if (!(error instanceof BlazarError)) throw error
      this.logger.info('metadata command rejected', { index: entry.index, code: error.code })
      outcome = { kind: 'rejected', error: errorToWire(error) }
    }
    this.outcomes.record(entry.index, outcome)
  }

  /** Validates a command against the current state without applying it; throws its typed error. */
  check (command: MetadataCommand): void {
    this.execute(command, false)
  }

  snapshot (): Uint8Array {
    return pack({
      version: 1,
      lastApplied: this.lastApplied,
      nodes: [...this.state.nodes.values()],
      tenants: [...this.state.tenants.values()],
      namespaces: [...this.state.namespaces.values()],
      topics: [...this.state.topics.values()],
      placements: [...this.state.placements].map(([group, placement]) => ({ group, ...placement })),
      moves: [...this.state.moves].map(([group, move]) => ({ group, ...move }))
    })
  }

  restore (data: Uint8Array, meta: SnapshotMeta): void {
    const snapshot = unpack(data, metadataSnapshotSchema, 1 << 30)
    assert(snapshot.lastApplied === meta.index, `metadata: snapshot at ${snapshot.lastApplied} restored as ${meta.index}`)
    this.lastApplied = snapshot.lastApplied
    this.state = {
      nodes: new Map(snapshot.nodes.map((node) => [node.id, node])),
      tenants: new Map(snapshot.tenants.map((tenant) => [tenant.name, tenant])),
      namespaces: new Map(snapshot.namespaces.map((ns) => [ns.name, { name: ns.name, policies: withPolicies(DEFAULT_NAMESPACE_POLICIES, ns.policies) }])),
      topics: new Map(snapshot.topics.map((topic) => [topic.name, topic])),
      placements: new Map(snapshot.placements.map(({ group, replicas, preferredLeader }) => [group, { replicas, preferredLeader }])),
      moves: new Map((snapshot.moves ?? []).map(({ group, from, to }) => [group, { from, to }]))
    }
    this.outcomes.clear()
  }

  // ---- queries -------------------------------------------------------------------------

  get appliedIndex (): number {
    return this.lastApplied
  }

  outcome (index: number): MetadataOutcome | undefined {
    return this.outcomes.get(index)
  }

  nodes (): NodeRecord[] {
    return [...this.state.nodes.values()]
  }

  node (id: NodeId): NodeRecord | undefined {
    return this.state.nodes.get(id)
  }

  tenants (): string[] {
    return [...this.state.tenants.keys()].sort()
  }

  tenant (name: string): TenantRecord | undefined {
    const record = this.state.tenants.get(name)
    return record === undefined ? undefined : { ...record }
  }

  namespaces (tenant: string): string[] {
    if (!this.state.tenants.has(tenant)) throw new UnknownTenantError({ tenant })
    return [...this.state.namespaces.keys()].filter((ns) => ns.startsWith(`${tenant}/`)).sort()
  }

  namespacePolicies (namespace: string): NamespacePolicies {
    const record = this.state.namespaces.get(namespace)
    if (record === undefined) throw new UnknownNamespaceError({ namespace })
    return { ...record.policies }
  }

  /** The topic record for any form of its name (a partition name gives its partitioned topic). */
  topic (name: string): TopicRecord | undefined {
    const parsed = parseTopicName(name)
    const record = this.state.topics.get(parsed.base)
    if (record === undefined) return undefined
    if (parsed.partitionIndex !== NON_PARTITIONED && parsed.partitionIndex >= record.partitions) return undefined
    return record
  }

  topics (namespace: string): string[] {
    if (!this.state.namespaces.has(namespace)) throw new UnknownNamespaceError({ namespace })
    const prefix = `persistent://${namespace}/`
    return [...this.state.topics.keys()].filter((name) => name.startsWith(prefix)).sort()
  }

  placement (group: string): GroupPlacement | undefined {
    return this.state.placements.get(group)
  }

  placements (): Array<[string, GroupPlacement]> {
    return [...this.state.placements]
  }

  /** Groups a node hosts a replica of: those whose placement names it, and those it is moving off. */
  groupsOf (node: NodeId): string[] {
    return [...this.state.placements]
      .filter(([group, placement]) => placement.replicas.includes(node) || this.state.moves.get(group)?.from === node)
      .map(([group]) => group)
  }

  /** The replica move of `group` in flight, if any. */
  move (group: string): ReplicaMove | undefined {
    return this.state.moves.get(group)
  }

  moves (): Array<[string, ReplicaMove]> {
    return [...this.state.moves]
  }

  // ---- commands ------------------------------------------------------------------------

  /** Validates `command`; when `mutate`, applies it. Returns the placements it created. */
  private execute (command: MetadataCommand, mutate: boolean): Array<{ group: string, placement: GroupPlacement }> {
    const state = this.state
    switch (command.type) {
      case 'register-node': {
        if (mutate) {
          const previous = state.nodes.get(command.id)
          state.nodes.set(command.id, { id: command.id, addresses: command.addresses, zone: command.zone, state: previous?.state ?? 'active' })
        }
        return []
      }
      case 'set-node-state': {
        const node = this.requireNode(command.id)
        if (mutate) node.state = command.state
        return []
      }
      case 'remove-node': {
        this.requireNode(command.id)
        const hosted = this.groupsOf(command.id).length + [...state.moves.values()].filter((move) => move.to === command.id).length
        if (hosted > 0 && command.force !== true) throw new InvalidArgumentError({ argument: 'node', reason: `${command.id} still hosts ${hosted} replica(s); drain it first` })
        if (mutate) state.nodes.delete(command.id)
        return []
      }
      case 'create-tenant': {
        validateTenantName(command.tenant)
        if (state.tenants.has(command.tenant)) throw new TenantAlreadyExistsError({ tenant: command.tenant })
        if (mutate) state.tenants.set(command.tenant, { name: command.tenant, adminRoles: command.adminRoles, allowedClusters: command.allowedClusters })
        return []
      }
      case 'update-tenant': {
        if (!state.tenants.has(command.tenant)) throw new UnknownTenantError({ tenant: command.tenant })
        if (mutate) state.tenants.set(command.tenant, { name: command.tenant, adminRoles: command.adminRoles, allowedClusters: command.allowedClusters })
        return []
      }
      case 'delete-tenant': {
        if (!state.tenants.has(command.tenant)) throw new UnknownTenantError({ tenant: command.tenant })
        const namespaces = this.namespaces(command.tenant).length
        if (namespaces > 0) throw new TenantNotEmptyError({ tenant: command.tenant, namespaces })
        if (mutate) state.tenants.delete(command.tenant)
        return []
      }
      case 'create-namespace': {
        const { tenant, full } = parseNamespaceName(command.namespace)
        if (!state.tenants.has(tenant)) throw new UnknownTenantError({ tenant })
        if (state.namespaces.has(full)) throw new NamespaceAlreadyExistsError({ namespace: full })
        if (mutate) state.namespaces.set(full, { name: full, policies: withPolicies(DEFAULT_NAMESPACE_POLICIES, command.policies) })
        return []
      }
      case 'delete-namespace': {
        const namespace = this.requireNamespace(command.namespace)
        const topics = this.topics(namespace.name).length
        if (topics > 0) throw new NamespaceNotEmptyError({ namespace: namespace.name, topics })
        if (mutate) state.namespaces.delete(namespace.name)
        return []
      }
      case 'set-namespace-policies': {
        const namespace = this.requireNamespace(command.namespace)
        if (mutate) namespace.policies = withPolicies(namespace.policies, command.policies)
        return []
      }
      case 'create-topic': {
        const parsed = parseTopicName(command.topic)
        if (parsed.partitionIndex !== NON_PARTITIONED) {
          throw new InvalidTopicNameError({ topic: command.topic, reason: 'a -partition-N name is reserved for partitions' })
        }
        const namespace = this.requireNamespace(`${parsed.tenant}/${parsed.namespace}`)
        if (state.topics.has(parsed.full)) throw new TopicAlreadyExistsError({ topic: parsed.full })
        const record = { name: parsed.full, partitions: command.partitions }
        const placed = this.place(groupsOfTopic(record), namespace.policies.replicationFactor)
        if (mutate) this.commitTopic(record, placed)
        return placed
      }
      case 'update-partitions': {
        const record = this.requireTopic(command.topic)
        if (record.partitions === 0) {
          throw new InvalidArgumentError({ argument: 'topic', reason: `${record.name} is not partitioned` })
        }
        if (command.partitions <= record.partitions) {
          throw new InvalidPartitionCountError({ topic: record.name, current: record.partitions, requested: command.partitions })
        }
        const parsed = parseTopicName(record.name)
        const namespace = this.requireNamespace(`${parsed.tenant}/${parsed.namespace}`)
        const added = Array.from({ length: command.partitions - record.partitions }, (_, i) => partitionTopicName(record.name, record.partitions + i))
        const placed = this.place(added, namespace.policies.replicationFactor)
        if (mutate) this.commitTopic({ name: record.name, partitions: command.partitions }, placed)
        return placed
      }
      case 'delete-topic': {
        const record = this.requireTopic(command.topic)
        if (mutate) {
          for (const group of groupsOfTopic(record)) {
            state.placements.delete(group)
            state.moves.delete(group)
          }
          state.topics.delete(record.name)
        }
        return []
      }
      case 'set-placement': {
        if (!state.placements.has(command.group)) throw new UnknownTopicError({ topic: command.group })
        if (new Set(command.replicas).size !== command.replicas.length || command.replicas.length === 0) {
          throw new InvalidArgumentError({ argument: 'replicas', reason: 'must be distinct and non-empty' })
        }
        for (const node of command.replicas) this.requireNode(node)
        if (!command.replicas.includes(command.preferredLeader)) {
          throw new InvalidArgumentError({ argument: 'preferredLeader', reason: 'must be one of the replicas' })
        }
        if (state.moves.has(command.group)) throw new InvalidArgumentError({ argument: 'group', reason: `${command.group} has a replica move in flight` })
        const placement = { replicas: [...command.replicas].sort(), preferredLeader: command.preferredLeader }
        if (mutate) state.placements.set(command.group, placement)
        return [{ group: command.group, placement }]
      }
      case 'move-replica': {
        const current = state.placements.get(command.group)
        if (current === undefined) throw new UnknownTopicError({ topic: command.group })
        const inFlight = state.moves.get(command.group)
        if (inFlight !== undefined) {
          throw new InvalidArgumentError({ argument: 'group', reason: `${command.group} is already moving a replica from ${inFlight.from} to ${inFlight.to}` })
        }
        if (!current.replicas.includes(command.from)) throw new InvalidArgumentError({ argument: 'from', reason: `${command.from} holds no replica of ${command.group}` })
        if (current.replicas.includes(command.to)) throw new InvalidArgumentError({ argument: 'to', reason: `${command.to} already holds a replica of ${command.group}` })
        if (this.requireNode(command.to).state !== 'active') throw new InvalidArgumentError({ argument: 'to', reason: `${command.to} is not active` })
        const replicas = current.replicas.map((node) => node === command.from ? command.to : node).sort()
        const preferredLeader = command.preferredLeader ?? (current.preferredLeader === command.from ? command.to : current.preferredLeader)
        if (!replicas.includes(preferredLeader)) throw new InvalidArgumentError({ argument: 'preferredLeader', reason: 'must be one of the replicas after the move' })
        const placement = { replicas, preferredLeader }
        if (mutate) {
          state.placements.set(command.group, placement)
          state.moves.set(command.group, { from: command.from, to: command.to })
        }
        return [{ group: command.group, placement }]
      }
      case 'complete-move': {
        // Idempotent: a leader that reports twice (or after a newer move began) changes nothing.
        if (mutate && state.moves.get(command.group)?.to === command.to) state.moves.delete(command.group)
        return []
      }
    }
  }

  private place (groups: string[], replicationFactor: number): Array<{ group: string, placement: GroupPlacement }> {
    const active: PlacementNode[] = [...this.state.nodes.values()].filter((n) => n.state === 'active').map((n) => ({ id: n.id, zone: n.zone }))
    const placements = placeGroups(active, loadOf(this.state.placements.values()), groups.length, replicationFactor)
    return groups.map((group, i) => ({ group, placement: placements[i] }))
  }

  private commitTopic (record: TopicRecord, placed: Array<{ group: string, placement: GroupPlacement }>): void {
    this.state.topics.set(record.name, record)
    for (const { group, placement } of placed) this.state.placements.set(group, placement)
  }

  private requireNode (id: NodeId): NodeRecord {
    const node = this.state.nodes.get(id)
    if (node === undefined) throw new UnknownNodeError({ node: id })
    return node
  }

  private requireNamespace (name: string): NamespaceRecord {
    const { tenant, full } = parseNamespaceName(name)
    if (!this.state.tenants.has(tenant)) throw new UnknownTenantError({ tenant })
    const namespace = this.state.namespaces.get(full)
    if (namespace === undefined) throw new UnknownNamespaceError({ namespace: full })
    return namespace
  }

  private requireTopic (name: string): TopicRecord {
    const parsed = parseTopicName(name)
    const record = this.state.topics.get(parsed.full)
    if (record === undefined) throw new UnknownTopicError({ topic: parsed.full })
    return record
  }
}
