// Replica moves on the partitions this node leads: brings each group's Raft membership to its
// placement one step at a time (membership-steps.ts, nextReplicaStep), re-checking while a
// learner catches up, and once the membership matches a placement whose move is in flight,
// reports the move done to the metadata group (`complete-move`), which lets the old node stop
// hosting the group. Owns the per-group "step in flight" flags and re-check timers.
import type { Env, NodeId, TimerHandle } from '@blazar/env'
import type { RaftNode } from '@blazar/raft'
import { applyMembershipStep, caughtUp, nextReplicaStep } from './membership-steps.ts'
import type { MetadataService } from './metadata-service.ts'

/** How often a leader re-checks a group whose membership does not match its placement yet. */
export const MEMBERSHIP_RECHECK_MS = 250
/**
 * How long one step may take before the driver stops waiting for it and checks again: a step
 * whose answer never comes must not hold the group's moves forever (node-moves seed 420: the
 * leader that got leadership back never moved again).
 */
export const MEMBERSHIP_STEP_TIMEOUT_MS = 10_000

export interface ReplicaMembershipOptions {
  env: Env
  self: NodeId
  metadata: MetadataService
  isPeerLive: (peer: NodeId) => boolean
  /** Reports to the metadata group that `group`'s move to `to` is done (a metadata write). */
  reportMatched: (group: string, to: NodeId) => Promise<void>
}

export class ReplicaMembership {
  private readonly options: ReplicaMembershipOptions
  private readonly busy = new Set<string>()
  private readonly timers = new Map<string, TimerHandle>()
  private stopped = false

  constructor (options: ReplicaMembershipOptions) {
    this.options = options
  }

  /** One step towards the placement of `group`, if this node leads it and no step is in flight. */
  check (group: string, raft: RaftNode): void {
    if (this.stopped || this.busy.has(group)) return
    const { self, metadata, isPeerLive, env } = this.options
    const placement = metadata.sm.placement(group)
    const status = raft.status()
    if (placement === undefined || status.role !== 'leader') return
    const step = nextReplicaStep({ self, config: status.config, target: placement.replicas, caughtUp: (peer) => caughtUp(raft, peer), isPeerLive })
    if (step === null) {
      this.recheck(group, raft)
      return
    }
    if (step.kind === 'matched') {
      const move = metadata.sm.move(group)
      if (move === undefined || !placement.replicas.includes(move.to)) return
      this.run(group, raft, 'move matched', { to: move.to }, async () => { await this.options.reportMatched(group, move.to) })
      return
    }
    env.logger.info('replica membership change', { group, ...step })
    this.run(group, raft, step.kind, { node: step.node }, async () => {
      if (step.kind === 'transferLeader') await raft.transferLeader(step.node)
      else await applyMembershipStep(raft, step)
    })
  }

  /** The group is no longer hosted or led here. */
  forget (group: string): void {
    const timer = this.timers.get(group)
    if (timer !== undefined) this.options.env.clock.clearTimer(timer)
    this.timers.delete(group)
  }

  stop (): void {
    this.stopped = true
    for (const group of [...this.timers.keys()]) this.forget(group)
  }

  private run (group: string, raft: RaftNode, what: string, fields: Record<string, string>, action: () => Promise<void>): void {
    this.busy.add(group)
    const clock = this.options.env.clock
    let timer: TimerHandle | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = clock.setTimer(MEMBERSHIP_STEP_TIMEOUT_MS, () => { reject(new Error(`no answer within ${MEMBERSHIP_STEP_TIMEOUT_MS} ms`)) })
    })
    Promise.race([action(), timedOut]).catch((error: unknown) => {
      this.options.env.logger.debug('replica membership step deferred', { group, step: what, ...fields, error: String(error) })
    }).finally(() => {
      if (timer !== undefined) clock.clearTimer(timer)
      this.busy.delete(group)
      this.recheck(group, raft)
    })
  }

  private recheck (group: string, raft: RaftNode): void {
    if (this.stopped || this.timers.has(group)) return
    this.timers.set(group, this.options.env.clock.setTimer(MEMBERSHIP_RECHECK_MS, () => {
      this.timers.delete(group)
      this.check(group, raft)
    }))
  }
}
