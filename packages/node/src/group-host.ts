// The Raft groups this node hosts: for each one a RaftNode on its LogStore group, reached over
// the shared multi-raft network (GroupRouter). Node-level peer liveness (one heartbeat per
// peer pair) wakes quiesced groups when a peer goes silent.
import type { Env, LogEntry, MembershipConfig, NodeId, RaftStorage } from '@blazar/env'
import { RaftNode, type RaftConfig, type RaftMessage, type RaftObserver, type RaftStatus, type StateMachine } from '@blazar/raft'
import type { LogStore } from '@blazar/storage'
import type { GroupRouter } from '@blazar/transport'
import type { PeerNetwork } from './node-edges.ts'

export interface HostedGroupOptions {
  group: string
  /** Builds the group's state machine; `storage` serves its reads of older entries. */
  stateMachine: (storage: RaftStorage) => StateMachine
  /** The group's initial membership (the same on every restart of an original member). */
  bootstrap?: MembershipConfig
  observer?: RaftObserver
}

/** What the host reports about every group it runs (for metrics). */
export interface GroupEvents {
  roleChanged: (group: string, event: { role: string, leader: NodeId | null }) => void
  snapshotRestored: (group: string) => void
  /** Every entry a group's state machine applied (the simulator's oracles watch them). */
  applied?: (group: string, entry: LogEntry) => void
  /** A group's RaftNode stopped on a failure (a storage error: fsync failures are never retried). */
  failed?: (group: string, error: unknown) => void
}

export class GroupHost {
  private readonly self: NodeId
  private readonly env: Env
  private readonly store: LogStore
  private readonly router: GroupRouter<RaftMessage>
  private readonly raftConfig: Partial<RaftConfig>
  private readonly nodes = new Map<string, RaftNode>()
  private readonly opening = new Map<string, Promise<RaftNode>>()
  private readonly events: GroupEvents | undefined

  constructor (options: { self: NodeId, env: Env, store: LogStore, router: GroupRouter<RaftMessage>, network: PeerNetwork, raftConfig: Partial<RaftConfig>, events?: GroupEvents }) {
    this.events = options.events
    this.self = options.self
    this.env = options.env
    this.store = options.store
    this.router = options.router
    this.raftConfig = options.raftConfig
    options.network.onPeerLiveness((peer, live) => {
      if (live) return
      for (const node of this.nodes.values()) node.peerDown(peer)
    })
  }

  get(group: string): RaftNode | undefined {
    return this.nodes.get(group)
  }

  groups (): string[] {
    return [...this.nodes.keys()]
  }

  /** Opens the group's storage and starts its RaftNode (once; later calls get the same node). */
  async host (options: HostedGroupOptions): Promise<RaftNode> {
    const existing = this.nodes.get(options.group)
    if (existing !== undefined) return existing
    let opening = this.opening.get(options.group)
    if (opening === undefined) {
      opening = this.open(options).finally(() => this.opening.delete(options.group))
      this.opening.set(options.group, opening)
    }
    return await opening
  }

  statuses (): RaftStatus[] {
    return [...this.nodes.values()].map((node) => node.status())
  }

  /** Stops one group (its storage stays: replica-cleanup.ts deletes it once that is safe). */
  stopGroup (group: string): void {
    const node = this.nodes.get(group)
    if (node === undefined) return
    node.stop()
    this.nodes.delete(group)
    this.router.unregister(group)
  }

  stopAll (): void {
    for (const group of [...this.nodes.keys()]) this.stopGroup(group)
  }

  private async open (options: HostedGroupOptions): Promise<RaftNode> {
    const storage = await this.store.openGroup(options.group)
    let node: RaftNode | undefined
    const send = this.router.register(options.group, (from, message) => { node?.step(from, message) })
    const events = this.events
    const stateMachine = events === undefined ? options.stateMachine(storage) : reporting(options.stateMachine(storage), options.group, events)
    const observer: RaftObserver | undefined = events === undefined
      ? options.observer
      : {
          ...options.observer,
          onRoleChange: (event) => {
            events.roleChanged(options.group, event)
            options.observer?.onRoleChange?.(event)
          },
          onFailure: (error) => {
            events.failed?.(options.group, error)
            options.observer?.onFailure?.(error)
          }
        }
    node = new RaftNode({
      id: this.self,
      group: options.group,
      env: this.env,
      storage,
      send,
      stateMachine,
      bootstrap: options.bootstrap,
      config: this.raftConfig,
      observer
    })
    this.nodes.set(options.group, node)
    node.start()
    return node
  }
}

/** The same state machine, telling `events` after every applied entry and snapshot restore. */
function reporting (inner: StateMachine, group: string, events: GroupEvents): StateMachine {
  const applied = events.applied
  return {
    apply: applied === undefined
      ? (entry) => { inner.apply(entry) }
      : (entry) => {
          inner.apply(entry)
          applied(group, entry)
        },
    snapshot: () => inner.snapshot(),
    restore: (data, meta) => {
      inner.restore(data, meta)
      events.snapshotRestored(group)
    },
    ...(inner.compactableIndex === undefined ? {} : { compactableIndex: () => inner.compactableIndex!() }),
    ...(inner.snapshotWanted === undefined ? {} : { snapshotWanted: () => inner.snapshotWanted!() })
  }
}
