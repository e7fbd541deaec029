// This node's replica of the metadata group (DESIGN.md §7): the MetadataStateMachine on the
// `meta` Raft group, proposing validated commands when leading, a read barrier for
// linearizable reads, change notifications for the services that follow the metadata
// (membership allowlist, hosted partitions), and, on the leader, the voter actor that keeps
// 3 (or 5) voters chosen among the active nodes and the rest learners, one change at a time.
import {
  MetadataStateMachine, chooseMetadataVoters, encodeMetadataCommand, planGrowth, planLeaderBalance, planRebalance, planReplacements, proposalError, type MetadataCommand, type MetadataOutcome, type PlacementNode
} from '@blazar/broker'
import type { Env, MembershipConfig, NodeId, TimerHandle } from '@blazar/env'
import { NotLeaderError, errorFromWire } from '@blazar/protocol'
import type { RaftNode } from '@blazar/raft'
import type { GroupHost } from './group-host.ts'
import { applyMembershipStep, caughtUp, type MembershipStep } from './membership-steps.ts'
import { SilenceTracker, nodeStateChanges } from './node-health.ts'

export const METADATA_GROUP = 'meta'
/** How often the metadata leader re-checks the voter set and the placements. */
export const VOTER_CHECK_INTERVAL_MS = 1000
/** Replica moves in flight at once that involve one node (as the leaving or the joining replica). */
export const MAX_MOVES_IN_FLIGHT_PER_NODE = 2
/** Replica moves in flight at once in the whole cluster. */
export const MAX_MOVES_IN_FLIGHT = 16

export class MetadataService {
  readonly sm: MetadataStateMachine
  private readonly env: Env
  private readonly self: NodeId
  private raft: RaftNode | undefined
  private readonly listeners: Array<() => void> = []
  private notifyQueued = false
  private voterTimer: TimerHandle | null = null
  private changingMembership = false
  private stopped = false
  private readonly isPeerLive: (peer: NodeId) => boolean
  private readonly silence = new SilenceTracker()
  private readonly reReplicationDelayMs: number
  /** When this leader first saw each node marked down (the re-replication delay counts from it). */
  private readonly downSince = new Map<NodeId, number>()

  constructor (options: { env: Env, self: NodeId, isPeerLive: (peer: NodeId) => boolean, reReplicationDelayMs: number }) {
    this.env = options.env
    this.self = options.self
    this.isPeerLive = options.isPeerLive
    this.reReplicationDelayMs = options.reReplicationDelayMs
    this.sm = new MetadataStateMachine({ logger: options.env.logger.child({ component: 'metadata' }) })
  }

  async start (host: GroupHost, bootstrap: MembershipConfig | undefined): Promise<void> {
    this.raft = await host.host({
      group: METADATA_GROUP,
      stateMachine: () => ({
        apply: (entry) => { this.sm.apply(entry); this.queueNotify() },
        snapshot: () => this.sm.snapshot(),
        restore: (data, meta) => { this.sm.restore(data, meta); this.queueNotify() }
      }),
      bootstrap,
      observer: {
        onRoleChange: ({ role }) => {
          if (role === 'leader') {
            this.silence.clear()
            this.downSince.clear()
            this.scheduleVoterCheck(0)
          }
          this.queueNotify()
        }
      }
    })
  }

  /** Called (batched per microtask) after metadata entries applied or leadership changed. */
  onChange (listener: () => void): void {
    this.listeners.push(listener)
  }

  get node (): RaftNode {
    if (this.raft === undefined) throw new Error('metadata group not started')
    return this.raft
  }

  get isLeader (): boolean {
    return this.raft?.status().role === 'leader'
  }

  leader (): NodeId | null {
    return this.raft?.status().leader ?? null
  }

  /** Validates, proposes and waits for `command` to apply here; throws its typed rejection. */
  async propose (command: MetadataCommand): Promise<MetadataOutcome & { kind: 'ok' }> {
    if (!this.isLeader) throw new NotLeaderError({ group: METADATA_GROUP, leaderHint: this.leaderHint() })
    this.sm.check(command)
    const { kind, data } = encodeMetadataCommand(command)
    // Raft's refusals (storage backpressure, leadership lost, ...) become the same typed wire
    // errors a partition's proposals give.
    const index = await this.node.propose(data, kind).catch((error: unknown) => { throw proposalError(error, METADATA_GROUP) })
    const outcome = this.sm.outcome(index)
    if (outcome === undefined) throw new Error(`metadata outcome of index ${index} is gone`)
    if (outcome.kind === 'rejected') throw errorFromWire(outcome.error)
    return outcome
  }

  /**
   * Resolves once this replica has applied everything committed before the call (linearizable
   * reads). Raft's refusals become typed wire errors, as for proposals: during an election a
   * read answers NOT_LEADER (which the REST API and clients retry), not UNKNOWN_ERROR.
   */
  async barrier (): Promise<void> {
    await this.node.readIndex().catch((error: unknown) => { throw proposalError(error, METADATA_GROUP) })
  }

  leaderHint (): NodeId | null {
    const leader = this.leader()
    return leader === this.self ? null : leader
  }

  stop (): void {
    this.stopped = true
    if (this.voterTimer !== null) this.env.clock.clearTimer(this.voterTimer)
    this.voterTimer = null
  }

  private queueNotify (): void {
    if (this.notifyQueued) return
    this.notifyQueued = true
    queueMicrotask(() => {
      this.notifyQueued = false
      for (const listener of this.listeners) {
        try {
          listener()
        } catch (error) {
          this.env.logger.error('metadata listener failed', { error: String(error) })
        }
      }
    })
  }

  private scheduleVoterCheck (delayMs: number): void {
    if (this.stopped || this.voterTimer !== null) return
    this.voterTimer = this.env.clock.setTimer(delayMs, () => {
      this.voterTimer = null
      if (!this.isLeader) return
      this.checkNodes().then(async () => {
        await this.checkVoters()
        await this.checkPlacements()
      }).catch((error: unknown) => {
        this.env.logger.debug('voter change deferred', { error: String(error) })
      }).finally(() => { if (this.isLeader) this.scheduleVoterCheck(VOTER_CHECK_INTERVAL_MS) })
    })
  }

  /** Marks silent nodes down and heard-from ones active again (leader only). */
  private async checkNodes (): Promise<void> {
    const now = this.env.clock.now()
    const changes = nodeStateChanges(this.sm.nodes(), this.self, (id) => this.silence.sample(id, this.isPeerLive(id), now))
    for (const change of changes) {
      this.env.logger.warn(change.state === 'down' ? 'node marked down' : 'node active again', { node: change.id })
      await this.propose({ type: 'set-node-state', id: change.id, state: change.state })
    }
  }

  /**
   * The placement actor: moves replicas off draining nodes, off nodes marked down for longer than
   * reReplicationDelayMs, and off nodes no longer registered, onto active nodes (placement.ts,
   * planReplacements), within MAX_MOVES_IN_FLIGHT and MAX_MOVES_IN_FLIGHT_PER_NODE. With nothing
   * to move off and no move in flight it balances: replicas towards nodes holding fewer (a node
   * that joined), then preferred leaders (planRebalance, planLeaderBalance).
   */
  private async checkPlacements (): Promise<void> {
    const now = this.env.clock.now()
    const nodes = this.sm.nodes()
    for (const node of nodes) {
      if (node.state !== 'down') this.downSince.delete(node.id)
      else if (!this.downSince.has(node.id)) this.downSince.set(node.id, now)
    }
    const inFlight = this.sm.moves()
    const budget = MAX_MOVES_IN_FLIGHT - inFlight.length
    if (budget <= 0) return
    const perNode = new Map<NodeId, number>()
    const count = (node: NodeId | null): void => { if (node !== null) perNode.set(node, (perNode.get(node) ?? 0) + 1) }
    for (const [, move] of inFlight) { count(move.from); count(move.to) }
    const leaves = (id: NodeId): boolean => {
      const node = this.sm.node(id)
      if (node === undefined || node.state === 'draining') return true
      return node.state === 'down' && now - (this.downSince.get(id) ?? now) >= this.reReplicationDelayMs
    }
    // A target must be reachable now: a node still marked active but silent gets nothing.
    const targets = nodes.map((node) => node.state === 'active' && node.id !== this.self && !this.isPeerLive(node.id) ? { ...node, state: 'unreachable' } : node)
    await this.redirectStuckMoves(targets, inFlight)
    const movable = this.sm.placements().filter(([group]) => this.sm.move(group) === undefined)
    const replacements = planReplacements(targets, movable, budget, leaves)
    const replaced = new Set(replacements.map((move) => move.group))
    const growable = movable.filter(([group]) => !replaced.has(group))
      .map(([group, placement]): [string, typeof placement, number] => [group, placement, this.sm.replicationFactorOf(group) ?? 0])
    const additions = planGrowth(targets, growable, budget - replacements.length)
    if (replacements.length === 0 && additions.length === 0 && inFlight.length === 0) {
      await this.balance(targets)
      return
    }
    for (const addition of additions) {
      if ((perNode.get(addition.to) ?? 0) >= MAX_MOVES_IN_FLIGHT_PER_NODE) continue
      count(addition.to)
      this.env.logger.info('replica added (below the replication factor)', { ...addition })
      await this.propose({ type: 'add-replica', group: addition.group, to: addition.to })
    }
    for (const move of replacements) {
      if ((perNode.get(move.from) ?? 0) >= MAX_MOVES_IN_FLIGHT_PER_NODE || (perNode.get(move.to) ?? 0) >= MAX_MOVES_IN_FLIGHT_PER_NODE) continue
      count(move.from)
      count(move.to)
      this.env.logger.info('replica move', { group: move.group, from: move.from, to: move.to })
      await this.propose({ type: 'move-replica', group: move.group, from: move.from, to: move.to, preferredLeader: move.placement.preferredLeader })
    }
  }

  /** A move whose target went down, away or is draining before the move completed gets another target. */
  private async redirectStuckMoves (targets: Array<PlacementNode & { state: string }>, inFlight: ReturnType<MetadataStateMachine['moves']>): Promise<void> {
    for (const [group, move] of inFlight) {
      // Still active (perhaps silent, but not marked down yet: a short blip must not redirect).
      if (this.sm.node(move.to)?.state === 'active') continue
      const placement = this.sm.placement(group)
      if (placement === undefined) continue
      const [redirect] = planReplacements(targets, [[group, placement]], 1, (id) => id === move.to)
      if (redirect === undefined) continue
      this.env.logger.warn('replica move redirected: its target is not active', { group, from: move.from, stuck: move.to, to: redirect.to })
      await this.propose({ type: 'move-replica', group, from: move.to, to: redirect.to, preferredLeader: redirect.placement.preferredLeader })
    }
  }

  private async balance (nodes: Array<PlacementNode & { state: string }>): Promise<void> {
    const placements = this.sm.placements()
    const moves = planRebalance(nodes, placements, MAX_MOVES_IN_FLIGHT_PER_NODE)
    for (const move of moves) {
      this.env.logger.info('replica move (balance)', { group: move.group, from: move.from, to: move.to })
      await this.propose({ type: 'move-replica', group: move.group, from: move.from, to: move.to, preferredLeader: move.placement.preferredLeader })
    }
    if (moves.length > 0) return
    for (const change of planLeaderBalance(nodes, placements, MAX_MOVES_IN_FLIGHT)) {
      this.env.logger.info('preferred leader (balance)', { group: change.group, preferredLeader: change.placement.preferredLeader })
      await this.propose({ type: 'set-placement', group: change.group, replicas: change.placement.replicas, preferredLeader: change.placement.preferredLeader })
    }
  }

  /** One step towards the chosen voter set: add a learner, promote a caught-up one, or retire a voter that was replaced. */
  private async checkVoters (): Promise<void> {
    if (this.changingMembership) return
    const raft = this.node
    const status = raft.status()
    const config = status.config
    const members = new Set([...config.voters, ...config.learners])
    const registered = this.sm.nodes()
    const active = registered.filter((node) => node.state === 'active').map((node) => ({ id: node.id, zone: node.zone }))
    const target = chooseMetadataVoters(active, config.voters)
    const step = nextMembershipStep({
      config,
      registered: new Set(registered.map((node) => node.id)),
      targetVoters: target.voters,
      caughtUp: (peer) => caughtUp(raft, peer),
      members
    })
    if (step === null) return
    this.changingMembership = true
    try {
      this.env.logger.info('metadata membership change', { ...step })
      await applyMembershipStep(raft, step)
    } finally {
      this.changingMembership = false
    }
  }
}

/**
 * The next single membership change of the metadata group, or null when it matches the target:
 * registered nodes that are not members become learners; a target voter that is a caught-up
 * learner is promoted; once the voters outnumber the target (a replacement was promoted first),
 * a voter outside the target (a down node) is removed, but never below 3 voters: with 3 nodes a
 * down voter stays, since removing it would not make the group tolerate any more failures. A
 * removed node that is still registered comes back as a learner at the next step.
 */
export function nextMembershipStep (input: {
  config: MembershipConfig
  members: ReadonlySet<NodeId>
  registered: ReadonlySet<NodeId>
  targetVoters: readonly NodeId[]
  caughtUp: (peer: NodeId) => boolean
}): MembershipStep | null {
  for (const node of [...input.registered].sort()) {
    if (!input.members.has(node)) return { kind: 'addLearner', node }
  }
  for (const node of input.targetVoters) {
    if (input.config.learners.includes(node) && input.caughtUp(node)) return { kind: 'promoteLearner', node }
  }
  const voters = input.config.voters
  if (voters.length > input.targetVoters.length && voters.length > 3) {
    const retired = voters.filter((node) => !input.targetVoters.includes(node)).sort()[0]
    if (retired !== undefined) return { kind: 'removeMember', node: retired }
  }
  return null
}
