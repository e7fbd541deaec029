// Where a request for a Raft group must go: served here when this node leads the group,
// forwarded to the leader's node otherwise. A node that hosts a replica knows the leader from
// Raft; one that does not guesses from what it learned last (leader hints in NOT_LEADER
// answers, successful forwards) and otherwise the placement's preferred leader.
import type { NodeId } from '@blazar/env'
import type { MetadataService } from './metadata-service.ts'
import type { HostedPartition, PartitionService } from './partition-service.ts'

/** Forwarding hops one request may take following leader hints. */
export const MAX_FORWARD_HOPS = 3
/** Groups whose last known leader is remembered by nodes that do not host them. */
export const MAX_CACHED_LEADERS = 100_000

export type Route =
  | { kind: 'local', partition: HostedPartition }
  | { kind: 'remote', node: NodeId }
  | { kind: 'unknown' }

export class LeaderRouter {
  private readonly self: NodeId
  private readonly metadata: MetadataService
  private readonly partitions: PartitionService
  private readonly cache = new Map<string, NodeId>()

  constructor (options: { self: NodeId, metadata: MetadataService, partitions: PartitionService }) {
    this.self = options.self
    this.metadata = options.metadata
    this.partitions = options.partitions
  }

  route (group: string): Route {
    const hosted = this.partitions.get(group)
    if (hosted !== undefined) {
      if (hosted.replica.isLeading) return { kind: 'local', partition: hosted }
      const leader = hosted.raft.status().leader
      return leader !== null && leader !== this.self ? { kind: 'remote', node: leader } : { kind: 'unknown' }
    }
    const guess = this.cache.get(group) ?? this.metadata.sm.placement(group)?.preferredLeader
    return guess === undefined || guess === this.self ? { kind: 'unknown' } : { kind: 'remote', node: guess }
  }

  /** The leader as best known here (for lookup answers). */
  leaderOf (group: string): NodeId | null {
    const route = this.route(group)
    if (route.kind === 'local') return this.self
    return route.kind === 'remote' ? route.node : null
  }

  /** A forward to `node` was answered by the group's leader, or told us who leads. */
  learn (group: string, leader: NodeId | null): void {
    if (this.partitions.get(group) !== undefined) return
    if (leader === null || leader === this.self) { this.cache.delete(group); return }
    if (!this.cache.has(group) && this.cache.size >= MAX_CACHED_LEADERS) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    this.cache.set(group, leader)
  }

  /** The next replica to try when the guessed leader was wrong and gave no hint. */
  nextReplica (group: string, after: NodeId): NodeId | null {
    const replicas = this.metadata.sm.placement(group)?.replicas.filter((id) => id !== this.self) ?? []
    if (replicas.length === 0) return null
    const at = replicas.indexOf(after)
    return replicas[(at + 1) % replicas.length] ?? null
  }
}
