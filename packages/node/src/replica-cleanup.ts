// Deleting the data of groups this node no longer hosts: a replica moved off the node (after the
// move completed), a topic deleted, and, at start-up, groups found in the log store that the
// placement no longer assigns here (a node that comes back after its replicas moved away).
// Owns the set of candidate groups, the safety checks and the retry timer; LogStore.deleteGroup
// does the crash-safe removal.
//
// Why the checks are enough. Deleting a replica's log and hard state is safe only if no quorum
// of the group, now or later, counts on them: a voter that forgot what it acknowledged or whom
// it voted for breaks Raft. Three conditions, checked in this order, each after the previous:
// 1. The metadata replica is caught up: a read barrier through the metadata leader (readIndex)
//    succeeded, so the local state holds every placement change committed before the check. A
//    lagging or restarting replica (which replays old states where the group was not placed
//    here, although it was placed here again later) never acts on a stale placement.
// 2. That committed state does not place the group here: it is not among this node's groups
//    (the placement's replicas, or a move leaving this node) and no move brings it here; and
//    the node is not hosting or opening it.
// 3. The topic is gone (no placement: no group runs any more), or the group's leader reports a
//    committed Raft membership (voters and learners) without this node (committed: a later
//    leader cannot be elected under an earlier membership that still counts this node). The placement alone is not
//    enough: it changes first, and the leader's membership steps follow it one change at a time
//    (set-placement, or a redirected move, drop a node that may still be a voter). This node's
//    own log cannot tell: a removed replica usually never receives the entry removing it.
// A node placed here again later joins as a learner (a move to it) and is not counted until it
// has caught up from the leader; until a leader's log gives it a membership it grants no vote
// either (raft core: a replica that knows no voters has none to give), so a voter that was down
// while this node was removed, and still counts it, cannot win with it (node-moves seed 165).
// So an empty log there is safe; LogStore.openGroup waits for a
// delete of the same name under way and then starts empty. Any failed check is retried after
// REPLICA_CLEANUP_RETRY_MS; a group placed here again meanwhile is dropped from the candidates.
import type { MetadataStateMachine } from '@blazar/broker'
import type { Env, MembershipConfig, NodeId, TimerHandle } from '@blazar/env'
import type { LogStore } from '@blazar/storage'
import { METADATA_GROUP } from './metadata-service.ts'

/** How long a group whose deletion could not be decided yet waits before it is checked again. */
export const REPLICA_CLEANUP_RETRY_MS = 5_000

/** What the cleanup reads of the metadata replica (MetadataService). */
export interface CleanupMetadata {
  /** Resolves once the local state holds every metadata write committed before the call. */
  barrier (): Promise<void>
  readonly sm: Pick<MetadataStateMachine, 'placement' | 'groupsOf' | 'move'>
}

export interface ReplicaCleanupOptions {
  env: Env
  self: NodeId
  store: Pick<LogStore, 'groupIds' | 'deleteGroup'>
  metadata: CleanupMetadata
  /** Whether this node hosts (or is opening) the group's replica right now. */
  isHosted: (group: string) => boolean
  /** The group's Raft membership as its current leader reports it; null when no leader answers. */
  leaderConfig: (group: string) => Promise<LeaderMembership | null>
}

/** A group's membership as its leader reports it, and whether the leader has committed it. */
export interface LeaderMembership extends MembershipConfig {
  committed: boolean
}

type Verdict = 'delete' | 'keep' | 'retry'

export class ReplicaCleanup {
  private readonly options: ReplicaCleanupOptions
  private readonly candidates = new Set<string>()
  private timer: TimerHandle | null = null
  private running = false
  private stopped = false

  constructor (options: ReplicaCleanupOptions) {
    this.options = options
  }

  /** The node stopped hosting `group` (its replica moved off, or its topic was deleted). */
  released (group: string): void {
    this.candidates.add(group)
    this.run()
  }

  /** At start-up: every group in the store that this node does not host is a candidate. */
  sweep (): void {
    for (const group of this.options.store.groupIds()) {
      if (group !== METADATA_GROUP && !this.options.isHosted(group)) this.candidates.add(group)
    }
    this.run()
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== null) this.options.env.clock.clearTimer(this.timer)
    this.timer = null
  }

  private run (): void {
    if (this.running || this.stopped || this.candidates.size === 0) return
    this.running = true
    this.pass().catch((error: unknown) => {
      this.options.env.logger.warn('replica cleanup failed', { error: String(error) })
    }).finally(() => {
      this.running = false
      if (this.candidates.size > 0 && !this.stopped && this.timer === null) {
        this.timer = this.options.env.clock.setTimer(REPLICA_CLEANUP_RETRY_MS, () => {
          this.timer = null
          this.run()
        })
      }
    })
  }

  /** One look at every candidate; those that must wait stay for the next pass. */
  private async pass (): Promise<void> {
    const { env, store } = this.options
    for (const group of [...this.candidates]) {
      if (this.stopped) return
      const verdict = await this.verdict(group)
      if (verdict === 'retry') continue
      this.candidates.delete(group)
      // Re-checked after the awaits above: a placement back to this node wins.
      if (verdict === 'keep' || this.placedHere(group) || this.stopped) continue
      await store.deleteGroup(group)
      env.logger.info('replica data deleted: the group is no longer hosted here', { group })
    }
  }

  private async verdict (group: string): Promise<Verdict> {
    const { metadata, leaderConfig, self } = this.options
    if (group === METADATA_GROUP) return 'keep'
    try {
      await metadata.barrier()
    } catch {
      return 'retry'
    }
    if (this.placedHere(group)) return 'keep'
    if (metadata.sm.placement(group) === undefined) return 'delete'
    let config: LeaderMembership | null
    try {
      config = await leaderConfig(group)
    } catch {
      return 'retry'
    }
    if (config === null || !config.committed || config.voters.includes(self) || config.learners.includes(self)) return 'retry'
    return 'delete'
  }

  private placedHere (group: string): boolean {
    const { metadata, self, isHosted } = this.options
    return isHosted(group) || metadata.sm.groupsOf(self).includes(group) || metadata.sm.move(group)?.to === self
  }
}
