// RaftCore: the synchronous Raft state machine of one group member, in etcd-io/raft's shape.
// Inputs: step(message), propose, the timers (tickElection, tickHeartbeat, tickQuorum, fired by
// the role machine), campaign, and completions (onPersisted, onFetched, onSnapshotLoaded,
// onSnapshotInstalled, onApplied, onSnapshotSaved). The core owns the role and makes every role
// transition itself; takeRoleChanges() hands the machine what to mirror. takeReady() hands over
// one batch of log writes + hard state to persist, messages to send (each marked whether it may
// leave only after the batch's writes are durable), storage reads to perform, a snapshot to
// install, and read/transfer outcomes. The core does no I/O.
import {
  type Clock, type HardState, type LogEntry, type Logger, type MembershipConfig, type NodeId, type RaftStorage, type Random,
  type SnapshotMeta, StorageBackpressureError, StorageLimitError
} from '@blazar/env'
import type { RaftConfig } from './config.ts'
import { assert, ConfigChangeError, NotLeaderError, TransferFailedError, TransferInProgressError } from './errors.ts'
import { RaftLog, type LogWrites } from './log.ts'
import { cloneConfig, encodeConfig, type Membership, members, quorumSize, RAFT_ENTRY_KIND } from './membership.ts'
import type {
  AppendRequest, AppendResponse, Heartbeat, HeartbeatResponse, RaftMessage, ReadIndexResponse, SnapshotChunk, SnapshotResponse,
  VoteRequest, VoteResponse
} from './messages.ts'
import { Progress } from './progress.ts'
import type { RoleEvent, RoleName } from './roles.ts'

export interface RaftObserver {
  onRoleChange? (event: { role: RoleName, term: number, leader: NodeId | null }): void
  onCommit? (commitIndex: number): void
  onApply? (entry: LogEntry): void
  /** The node hit a failed invariant or a fatal storage error and stopped. */
  onFailure? (error: unknown): void
}

/** Test-only deliberate bugs: each one really breaks Raft (proof the checkers can fail). */
export interface RaftFaults {
  /** Reply to a vote request before term/vote are durable. */
  skipVotePersist?: boolean
  /** Figure 8 bug: commit an old-term entry by counting replicas. */
  commitPreviousTermByCounting?: boolean
  /** Append over a conflicting suffix without truncating it. */
  skipConflictTruncation?: boolean
  /** Ignore the candidate's log up-to-date check. */
  grantVoteWithoutLogCheck?: boolean
}

export interface Outgoing {
  to: NodeId
  message: RaftMessage
  /** Must wait until every write issued so far is durable. */
  afterSync: boolean
}

/** What a batch of writes covered, handed back through onPersisted once durable. */
export interface PersistToken {
  index: number
  term: number
  hardTerm: number
  vote: NodeId | null
}

export interface Fetch { to: NodeId, term: number, from: number, toExclusive: number }

export interface Ready {
  writes: (LogWrites & { hardState: HardState | undefined }) | undefined
  token: PersistToken | undefined
  messages: Outgoing[]
  fetches: Fetch[]
  snapshotLoads: Array<{ to: NodeId, term: number }>
  install: { from: NodeId, meta: SnapshotMeta, data: Uint8Array } | undefined
  /** ReadIndex requests confirmed by a quorum: serve once applied >= index. */
  releasedReads: Array<{ id: number, index: number }>
  failedReads: number[]
  /** This node stopped being leader during the batch. */
  steppedDown: boolean
  transferOutcome: 'done' | 'aborted' | undefined
}

export type ConfigChange = { kind: 'addLearner' | 'promoteLearner' | 'removeMember', node: NodeId }

/** A read the leader confirms: its own (a local id) or one forwarded by a follower. */
type ReadOrigin = { id: number } | { from: NodeId, requestId: number }
interface PendingRead { origin: ReadOrigin, index: number, seq: number, acks: Set<NodeId> }

const NO_ROLE_CHANGES: readonly RoleEvent[] = Object.freeze([])

export interface CoreOptions {
  id: NodeId
  group: string
  config: RaftConfig
  clock: Clock
  random: Random
  logger: Logger
  storage: RaftStorage
  membership: Membership
  faults: RaftFaults
  observer: RaftObserver
}

export class RaftCore {
  readonly id: NodeId
  readonly group: string
  readonly config: RaftConfig
  readonly log: RaftLog
  readonly membership: Membership
  readonly progress = new Map<NodeId, Progress>()
  role: RoleName = 'follower'
  term = 0
  vote: NodeId | null = null
  leader: NodeId | null = null
  commitIndex = 0
  appliedIndex = 0
  /** Highest index known durable locally (the leader's own match). */
  persistedIndex = 0
  snapshotMeta: SnapshotMeta | null = null
  corrupted = false
  /** A received snapshot is being installed by the shell; appends wait. */
  installing: SnapshotMeta | undefined
  quiesced = false

  private readonly clock: Clock
  private readonly random: Random
  private readonly logger: Logger
  private readonly faults: RaftFaults
  private readonly observer: RaftObserver
  private hardStateDirty = false
  private votes = new Map<NodeId, boolean>()
  private leaderContactAt = Number.NEGATIVE_INFINITY
  /** Election timer: reset time and this round's randomized timeout (etcd's electionElapsed). */
  private electionResetAt = 0
  private randomizedElectionTimeout = 0
  private transfer: { to: NodeId, startedAt: number, timeoutNowSent: boolean } | null = null
  private incoming: { meta: SnapshotMeta, chunks: Uint8Array[], received: number } | undefined
  private needsBroadcast = false
  private commitBroadcast = false
  private readSeq = 0
  private reads: PendingRead[] = []
  private readsAwaitingTermCommit: ReadOrigin[] = []
  /** Follower: reads forwarded to the leader, by local id. */
  private readonly forwardedReads = new Set<number>()
  private lastRoleEvent = ''
  /** Role changes since the shell last took them, in order, for the role machine to mirror. */
  private roleChanges: RoleEvent[] = []
  private outbox: Outgoing[] = []
  private fetches: Fetch[] = []
  private snapshotLoads: Array<{ to: NodeId, term: number }> = []
  private install: Ready['install']
  private releasedReads: Ready['releasedReads'] = []
  private failedReads: number[] = []
  private steppedDown = false
  private transferOutcome: Ready['transferOutcome']

  constructor (options: CoreOptions) {
    this.id = options.id
    this.group = options.group
    this.config = options.config
    this.clock = options.clock
    this.random = options.random
    this.logger = options.logger
    this.faults = options.faults
    this.observer = options.observer
    this.membership = options.membership
    this.log = new RaftLog(options.storage, options.config.entryCacheBytes)
  }

  /** Loads the recovered durable state (after the shell restored the snapshot). */
  init (hardState: HardState, snapshot: SnapshotMeta | null): void {
    this.term = hardState.term
    this.vote = hardState.vote
    this.snapshotMeta = snapshot
    const snapshotIndex = snapshot?.index ?? 0
    this.commitIndex = Math.min(Math.max(hardState.commit, snapshotIndex), this.log.lastIndex())
    this.appliedIndex = snapshotIndex
    this.persistedIndex = this.log.lastIndex()
    this.resetElectionTimer(true)
    this.notifyRole()
  }

  /** Restarts the election timer; a role change also draws a new randomized timeout. */
  resetElectionTimer (redraw: boolean): void {
    this.electionResetAt = this.clock.now()
    if (redraw) {
      this.randomizedElectionTimeout = this.random.int(this.config.electionTimeoutMs, 2 * this.config.electionTimeoutMs)
    }
  }

  electionDelayMs (): number {
    return Math.max(0, this.electionResetAt + this.randomizedElectionTimeout - this.clock.now())
  }

  electionDue (): boolean {
    return this.clock.now() - this.electionResetAt >= this.randomizedElectionTimeout
  }

  markCorrupted (reason: string): void {
    this.corrupted = true
    this.logger.error('storage corrupted: refusing to vote or lead', { reason })
  }

  voters (): NodeId[] { return this.membership.current().voters }

  canCampaign (): boolean {
    return !this.corrupted && this.installing === undefined && this.voters().includes(this.id)
  }

  committedInTerm (): boolean {
    return this.log.termAt(this.commitIndex) === this.term
  }

  // ---- role transitions -------------------------------------------------------------------

  becomeFollower (term: number, leader: NodeId | null): void {
    const wasLeader = this.role === 'leader'
    if (term > this.term || leader !== this.leader) this.failForwardedReads()
    if (term > this.term) {
      this.term = term
      this.vote = null
      this.hardStateDirty = true
    }
    this.role = 'follower'
    this.leader = leader
    this.quiesced = false
    this.resetElectionTimer(true)
    if (leader !== null) this.leaderContactAt = this.clock.now()
    this.votes.clear()
    if (wasLeader) this.leaveLeadership()
    this.roleChanges.push({ type: 'BECAME_FOLLOWER' })
    this.notifyRole()
  }

  becomePreCandidate (): void {
    assert(this.role !== 'leader', 'leader cannot pre-campaign')
    this.failForwardedReads()
    this.role = 'precandidate'
    this.leader = null
    this.quiesced = false
    this.resetElectionTimer(true)
    this.votes = new Map([[this.id, true]])
    this.roleChanges.push({ type: 'BECAME_PRECANDIDATE' })
    this.notifyRole()
    const request = this.voteRequest('preVote', this.term + 1, false)
    for (const voter of this.voters()) if (voter !== this.id) this.send(voter, request, true)
    this.checkElection()
  }

  becomeCandidate (force: boolean): void {
    assert(this.role !== 'leader', 'leader cannot campaign')
    this.failForwardedReads()
    this.role = 'candidate'
    this.term += 1
    this.vote = this.id
    this.leader = null
    // A forced campaign (force-recovery, a transfer's timeoutNow) may start from a quiesced follower.
    this.quiesced = false
    this.hardStateDirty = true
    this.resetElectionTimer(true)
    // The self-vote counts once the term and vote are durable (onPersisted).
    this.votes = new Map()
    this.roleChanges.push({ type: 'BECAME_CANDIDATE' })
    this.notifyRole()
    const request = this.voteRequest('vote', this.term, force)
    for (const voter of this.voters()) if (voter !== this.id) this.send(voter, request, true)
  }

  becomeLeader (): void {
    assert(this.role === 'candidate', `becomeLeader from ${this.role}`)
    this.role = 'leader'
    this.leader = this.id
    this.transfer = null
    this.quiesced = false
    this.progress.clear()
    const now = this.clock.now()
    for (const member of members(this.membership.current())) {
      if (member !== this.id) this.progress.set(member, new Progress(this.log.lastIndex() + 1, this.config.maxInflightAppends, now))
    }
    this.roleChanges.push({ type: 'BECAME_LEADER' })
    this.notifyRole()
    // Unreserved: a leader must be able to commit in its term even while the write queue is full
    // (the no-op is a record header; the queue's bound allows for it).
    this.appendEntry(this.nextEntry(RAFT_ENTRY_KIND, new Uint8Array(0)))
    this.bcastAppend(true)
  }

  /** Starts an election (a pre-vote round first when configured); false when this node may not campaign. */
  private startElection (): boolean {
    if (!this.canCampaign()) return false
    if (this.config.preVote) this.becomePreCandidate()
    else this.becomeCandidate(false)
    return true
  }

  /** The role changes since the last call, oldest first (the shell sends them to the role machine). */
  takeRoleChanges (): readonly RoleEvent[] {
    // Most inputs change no role: no allocation for them.
    if (this.roleChanges.length === 0) return NO_ROLE_CHANGES
    const changes = this.roleChanges
    this.roleChanges = []
    return changes
  }

  /** The leader a follower forwarded reads to is gone (or changed): those reads fail. */
  private failForwardedReads (): void {
    for (const id of this.forwardedReads) this.failedReads.push(id)
    this.forwardedReads.clear()
  }

  private leaveLeadership (): void {
    this.progress.clear()
    this.steppedDown = true
    this.needsBroadcast = false
    this.commitBroadcast = false
    for (const origin of [...this.reads.map((read) => read.origin), ...this.readsAwaitingTermCommit]) {
      if ('id' in origin) this.failedReads.push(origin.id)
    }
    this.reads = []
    this.readsAwaitingTermCommit = []
    if (this.transfer !== null) this.transferOutcome = this.transfer.timeoutNowSent ? 'done' : 'aborted'
    this.transfer = null
  }

  private notifyRole (): void {
    const key = `${this.role}/${this.term}/${this.leader ?? ''}`
    if (key === this.lastRoleEvent) return
    this.lastRoleEvent = key
    this.observer.onRoleChange?.({ role: this.role, term: this.term, leader: this.leader })
  }

  // ---- timers (fired by the role machine) ---------------------------------------------------

  /** The election timer of a follower, pre-candidate or candidate fired. */
  tickElection (): void {
    if (this.role === 'leader') return
    if (this.role !== 'follower') {
      // A round without a result: a new one, or back to follower when this node may not campaign.
      if (!this.startElection()) this.becomeFollower(this.term, null)
      return
    }
    // Leader contact since the timer was armed moved the reset time: the machine re-arms.
    if (!this.electionDue()) return
    if (!this.startElection()) this.resetElectionTimer(true)
  }

  /** An operator or test asks for an election now; a no-op on a leader or a node that may not campaign. */
  campaign (): void {
    if (this.role !== 'leader') this.startElection()
  }

  tickHeartbeat (): void {
    if (this.role !== 'leader') return
    const now = this.clock.now()
    if (this.transfer !== null && now - this.transfer.startedAt >= this.config.electionTimeoutMs) {
      this.logger.info('leader transfer timed out', { to: this.transfer.to })
      this.transferOutcome = 'aborted'
      this.transfer = null
    }
    const quiesce = !this.quiesced && this.canQuiesce()
    for (const [to, pr] of this.progress) {
      const beat: Heartbeat = {
        type: 'heartbeat', group: this.group, term: this.term, commit: Math.min(pr.match, this.commitIndex), readSeq: this.readSeq, quiesce
      }
      this.send(to, beat, false)
      if (pr.state === 'snapshot' && pr.transfer !== undefined && now - pr.transfer.sentAt >= this.config.electionTimeoutMs) {
        this.sendSnapshotChunk(to, pr)
      }
    }
    if (quiesce) {
      this.quiesced = true
      this.roleChanges.push({ type: 'QUIESCED' })
    }
  }

  tickQuorum (): void {
    if (this.role !== 'leader' || !this.config.checkQuorum) return
    const voters = this.voters()
    let active = 0
    for (const voter of voters) {
      if (voter === this.id || this.progress.get(voter)?.recentActive === true) active++
    }
    for (const pr of this.progress.values()) pr.recentActive = false
    if (active < quorumSize(voters) && !this.quiesced) {
      this.logger.info('check-quorum failed: stepping down', { term: this.term, active })
      this.becomeFollower(this.term, null)
    }
  }

  // ---- inputs -------------------------------------------------------------------------------

  step (from: NodeId, m: RaftMessage): void {
    if (this.corrupted) return
    if (this.quiesced && m.type !== 'heartbeatResponse' && !(m.type === 'heartbeat' && m.quiesce)) {
      // A peer is active in an idle group. The group's leader declared itself alive when it
      // quiesced, so a follower keeps honouring its lease; a dead leader is reported by the host
      // through peerDown, which wakes without renewing the lease.
      if (this.role !== 'leader' && this.leader !== null) this.leaderContactAt = this.clock.now()
      this.wake()
    }
    if (m.term > this.term) {
      if (m.type === 'preVote' || m.type === 'vote') {
        if (!m.force && this.inLease()) return
      }
      const keepTerm = m.type === 'preVote' || (m.type === 'preVoteResponse' && m.granted)
      if (!keepTerm) {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot'
        this.becomeFollower(m.term, fromLeader ? from : null)
      }
    } else if (m.term < this.term) {
      if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        // A stale leader learns our term and steps down (needed with pre-vote/check-quorum).
        const reply: HeartbeatResponse = { type: 'heartbeatResponse', group: this.group, term: this.term, readSeq: 0 }
        this.send(from, reply, true)
      } else if (m.type === 'preVote') {
        this.send(from, { type: 'preVoteResponse', group: this.group, term: this.term, granted: false }, true)
      }
      return
    }
    switch (m.type) {
      case 'preVote':
      case 'vote':
        this.handleVoteRequest(from, m)
        return
      case 'timeoutNow':
        if (this.role === 'follower' && this.canCampaign()) this.becomeCandidate(true)
        return
    }
    switch (this.role) {
      case 'leader': this.stepLeader(from, m); return
      case 'precandidate':
      case 'candidate': this.stepCandidate(from, m); return
      case 'follower': this.stepFollower(from, m)
    }
  }

  private inLease (): boolean {
    if (!this.config.checkQuorum) return false
    if (this.role === 'leader') return true
    return this.leader !== null && this.clock.now() - this.leaderContactAt < this.config.electionTimeoutMs
  }

  private handleVoteRequest (from: NodeId, m: VoteRequest): void {
    const responseType = m.type === 'preVote' ? 'preVoteResponse' : 'voteResponse'
    const canVote = this.vote === from || (this.vote === null && this.leader === null) ||
      (m.type === 'preVote' && m.term > this.term)
    const lastTerm = this.log.lastTerm()
    const upToDate = m.lastTerm > lastTerm || (m.lastTerm === lastTerm && m.lastIndex >= this.log.lastIndex())
    // A replica that knows no voters has never been a member: a group joined by a replica move
    // starts so (also on a node whose earlier copy was deleted), and waits for the leader's log.
    // It has no vote to give. A stale candidate whose membership still names this node would
    // otherwise win with it and lead without committed entries (node-moves seed 165: n3, down
    // while n2 was removed and its copy deleted, was elected by the re-created, empty n2).
    const member = this.membership.current().voters.length > 0
    // A vote reply (granted or not) may leave only once the term/vote it reflects is durable.
    const afterSync = !(this.faults.skipVotePersist === true)
    if (canVote && member && (upToDate || this.faults.grantVoteWithoutLogCheck === true)) {
      const reply: VoteResponse = { type: responseType, group: this.group, term: m.term, granted: true }
      if (m.type === 'vote') {
        this.vote = from
        this.hardStateDirty = true
        this.resetElectionTimer(false)
      }
      this.send(from, reply, afterSync)
    } else {
      this.send(from, { type: responseType, group: this.group, term: this.term, granted: false }, afterSync)
    }
  }

  private stepFollower (from: NodeId, m: RaftMessage): void {
    switch (m.type) {
      case 'readIndexResponse':
        if (this.forwardedReads.delete(m.requestId)) this.releasedReads.push({ id: m.requestId, index: m.index })
        return
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.followerContact(from)
        if (m.type === 'append') this.handleAppend(from, m)
        else if (m.type === 'heartbeat') this.handleHeartbeat(from, m)
        else this.handleSnapshotChunk(from, m)
        return
      default:
        // Responses addressed to an earlier role in this term.
    }
  }

  private followerContact (from: NodeId): void {
    this.leaderContactAt = this.clock.now()
    this.resetElectionTimer(false)
    if (this.leader !== from) {
      this.leader = from
      this.notifyRole()
    }
  }

  private stepCandidate (from: NodeId, m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // A leader exists in our term.
        this.becomeFollower(this.term, from)
        this.stepFollower(from, m)
        return
      case 'preVoteResponse':
        if (this.role !== 'precandidate' || (m.granted && m.term !== this.term + 1)) return
        this.votes.set(from, m.granted)
        this.checkElection()
        return
      case 'voteResponse':
        if (this.role !== 'candidate' || m.term !== this.term) return
        this.votes.set(from, m.granted)
        this.checkElection()
        return
      default:
    }
  }

  private checkElection (): void {
    const voters = this.voters()
    const quorum = quorumSize(voters)
    let granted = 0
    let rejected = 0
    for (const voter of voters) {
      const vote = this.votes.get(voter)
      if (vote === true) granted++
      else if (vote === false) rejected++
    }
    if (granted >= quorum) {
      if (this.role === 'precandidate') this.becomeCandidate(false)
      else this.becomeLeader()
    } else if (rejected > voters.length - quorum) {
      this.becomeFollower(this.term, null)
    }
  }

  // ---- follower: log replication ---------------------------------------------------------

  private handleAppend (from: NodeId, m: AppendRequest): void {
    if (this.installing !== undefined) return
    if (m.prevIndex < this.commitIndex) {
      this.send(from, this.appendResponse(this.commitIndex, false, 0, 0), true)
      return
    }
    if (!this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const hint = this.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm)
      this.send(from, this.appendResponse(m.prevIndex, true, hint.index, hint.term), true)
      return
    }
    const lastNew = m.prevIndex + m.entries.length
    let conflict = -1
    for (let i = 0; i < m.entries.length; i++) {
      if (this.log.termAt(m.entries[i].index) !== m.entries[i].term) { conflict = i; break }
    }
    if (conflict >= 0) {
      const conflictIndex = m.entries[conflict].index
      const overwrites = conflictIndex <= this.log.lastIndex()
      const skipTruncation = overwrites && this.faults.skipConflictTruncation === true
      const lastIndex = this.log.lastIndex()
      const newEntries = skipTruncation ? m.entries.slice(conflict).filter((entry) => entry.index > lastIndex) : m.entries.slice(conflict)
      if (!this.reserveReplicated(newEntries)) return
      if (overwrites && !skipTruncation) {
        assert(conflictIndex > this.commitIndex, `conflict at ${conflictIndex} at or below commit ${this.commitIndex}`)
        this.truncate(conflictIndex)
      }
      this.appendEntries(newEntries)
    }
    this.commitTo(Math.min(m.commit, lastNew))
    this.send(from, this.appendResponse(lastNew, false, 0, 0), true)
  }

  /**
   * Room in storage for replicated entries. Without it (a full write queue, an entry over a
   * limit) the append is dropped unanswered, before any effect: the leader resends once its
   * window times out, which is the backpressure a slow follower puts on its leader.
   */
  private reserveReplicated (entries: readonly LogEntry[]): boolean {
    try {
      this.log.reserve(entries)
      return true
    } catch (error) {
      if (!(error instanceof StorageBackpressureError || error instanceof StorageLimitError)) throw error
      this.logger.warn('storage refused replicated entries; the leader will resend', { error: error.message })
      return false
    }
  }

  private handleHeartbeat (from: NodeId, m: Heartbeat): void {
    if (this.installing === undefined) this.commitTo(Math.min(m.commit, this.log.lastIndex()))
    if (m.quiesce && this.config.quiesce && !this.quiesced) {
      this.quiesced = true
      this.roleChanges.push({ type: 'QUIESCED' })
    }
    this.send(from, { type: 'heartbeatResponse', group: this.group, term: this.term, readSeq: m.readSeq }, true)
  }

  private appendResponse (index: number, reject: boolean, hintIndex: number, hintTerm: number): AppendResponse {
    return { type: 'appendResponse', group: this.group, term: this.term, index, reject, hintIndex, hintTerm }
  }

  /** Largest index <= `index` whose term is <= `term` (etcd's findConflictByTerm). */
  private findConflictByTerm (index: number, term: number): { index: number, term: number } {
    for (let i = index; i >= 0; i--) {
      const t = this.log.termAt(i)
      if (t === undefined) return { index: i, term: 0 }
      if (t <= term) return { index: i, term: t }
    }
    return { index: 0, term: 0 }
  }

  private truncate (fromIndex: number): void {
    this.log.truncate(fromIndex)
    this.persistedIndex = Math.min(this.persistedIndex, fromIndex - 1)
    if (this.membership.onTruncate(fromIndex)) this.onConfigChanged()
  }

  private appendEntries (entries: readonly LogEntry[]): void {
    if (entries.length === 0) return
    this.log.append(entries)
    if (this.membership.onAppend(entries)) this.onConfigChanged()
  }

  private commitTo (index: number): void {
    if (index <= this.commitIndex) return
    assert(index <= this.log.lastIndex(), `commit ${index} beyond last index ${this.log.lastIndex()}`)
    this.commitIndex = index
    this.hardStateDirty = true
  }

  // ---- follower: snapshots ---------------------------------------------------------------

  private handleSnapshotChunk (from: NodeId, m: SnapshotChunk): void {
    if (this.installing !== undefined) return
    const reply = (received: number, done: boolean): void => {
      const response: SnapshotResponse = { type: 'snapshotResponse', group: this.group, term: this.term, index: m.meta.index, received, done }
      this.send(from, response, true)
    }
    if (m.meta.index <= this.commitIndex) {
      reply(m.totalBytes, true)
      return
    }
    if (m.totalBytes > this.config.maxSnapshotBytes) {
      this.logger.error('snapshot larger than maxSnapshotBytes refused', { bytes: m.totalBytes })
      return
    }
    if (m.offset === 0) this.incoming = { meta: m.meta, chunks: [], received: 0 }
    const incoming = this.incoming
    if (incoming === undefined || incoming.meta.index !== m.meta.index || incoming.meta.term !== m.meta.term) {
      reply(0, false)
      return
    }
    if (m.offset !== incoming.received) {
      reply(incoming.received, false)
      return
    }
    incoming.chunks.push(m.data)
    incoming.received += m.data.length
    if (incoming.received < m.totalBytes) {
      reply(incoming.received, false)
      return
    }
    const data = new Uint8Array(incoming.received)
    let offset = 0
    for (const chunk of incoming.chunks) { data.set(chunk, offset); offset += chunk.length }
    this.incoming = undefined
    this.installing = m.meta
    this.install = { from, meta: m.meta, data }
  }

  /** The shell saved the received snapshot durably and restored the state machine from it. */
  onSnapshotInstalled (meta: SnapshotMeta, from: NodeId): void {
    assert(this.installing !== undefined && this.installing.index === meta.index, 'unexpected snapshot install')
    this.installing = undefined
    this.log.reset()
    const keepSuffix = this.log.lastIndex() > meta.index
    this.membership.rebase(meta.index, meta.config, keepSuffix)
    this.onConfigChanged()
    this.snapshotMeta = meta
    this.persistedIndex = Math.max(Math.min(this.persistedIndex, this.log.lastIndex()), meta.index)
    if (meta.index > this.commitIndex) this.commitIndex = meta.index
    this.hardStateDirty = true
    this.appliedIndex = Math.max(this.appliedIndex, meta.index)
    const response: SnapshotResponse = {
      type: 'snapshotResponse', group: this.group, term: this.term, index: meta.index, received: 0, done: true
    }
    this.send(from, response, true)
  }

  /** A snapshot taken locally is durable; the log below it may be gone. */
  onSnapshotSaved (meta: SnapshotMeta): void {
    if (this.snapshotMeta !== null && meta.index <= this.snapshotMeta.index) return
    this.snapshotMeta = meta
    this.membership.rebase(meta.index, meta.config, true)
  }

  snapshotIndex (): number { return this.snapshotMeta?.index ?? 0 }

  /** Metadata for a local snapshot at the applied index. */
  /** The meta of a local snapshot covering the log up to `index` (applied, above the current snapshot). */
  snapshotMetaAt (index: number): SnapshotMeta {
    assert(index <= this.appliedIndex && index > this.snapshotIndex(), `snapshot at ${index} outside (${this.snapshotIndex()}, ${this.appliedIndex}]`)
    const term = this.log.termAt(index)
    assert(term !== undefined, `no term at index ${index}`)
    return { index, term, config: cloneConfig(this.membership.at(index)) }
  }

  onApplied (index: number): void {
    assert(index === this.appliedIndex + 1 && index <= this.commitIndex, `apply ${index} after ${this.appliedIndex}`)
    this.appliedIndex = index
  }

  // ---- durability ----------------------------------------------------------------------------

  onPersisted (token: PersistToken): void {
    if (this.log.termAt(token.index) === token.term && token.index > this.persistedIndex) {
      this.persistedIndex = Math.min(token.index, this.log.lastIndex())
    }
    if (this.role === 'candidate' && token.hardTerm === this.term && token.vote === this.id && !this.votes.has(this.id)) {
      this.votes.set(this.id, true)
      this.checkElection()
    }
    if (this.role === 'leader') this.maybeCommit()
  }

  // ---- leader ------------------------------------------------------------------------------

  propose (kind: number, data: Uint8Array): number {
    this.requireLeader()
    if (this.transfer !== null) throw new TransferInProgressError(this.transfer.to)
    const entry = this.nextEntry(kind, data)
    // A full write queue or an entry over a storage limit refuses the proposal here, typed and
    // before any effect (storage writes never refuse: Raft's log and storage must not disagree).
    this.log.reserve([entry])
    this.wake()
    return this.appendEntry(entry)
  }

  proposeConfigChange (change: ConfigChange): number {
    this.requireLeader()
    if (this.transfer !== null) throw new TransferInProgressError(this.transfer.to)
    if (this.membership.latestIndex() > this.commitIndex) throw new ConfigChangeError('another membership change is pending')
    if (!this.committedInTerm()) throw new ConfigChangeError('the leader has not yet committed an entry in its term')
    const current = this.membership.current()
    const next = cloneConfig(current)
    const node = change.node
    switch (change.kind) {
      case 'addLearner':
        if (members(current).includes(node)) throw new ConfigChangeError(`${node} is already a member`)
        next.learners.push(node)
        break
      case 'promoteLearner':
        if (!current.learners.includes(node)) throw new ConfigChangeError(`${node} is not a learner`)
        next.learners = next.learners.filter((id) => id !== node)
        next.voters.push(node)
        break
      case 'removeMember':
        if (!members(current).includes(node)) throw new ConfigChangeError(`${node} is not a member`)
        if (current.voters.length === 1 && current.voters[0] === node) throw new ConfigChangeError('cannot remove the last voter')
        next.voters = next.voters.filter((id) => id !== node)
        next.learners = next.learners.filter((id) => id !== node)
        break
    }
    const entry = this.nextEntry(RAFT_ENTRY_KIND, encodeConfig(next))
    this.log.reserve([entry])
    this.wake()
    return this.appendEntry(entry)
  }

  /**
   * Operator force-recovery of a group that lost its majority for good (never automatic): this
   * replica becomes the group's only voter. In a new term, so that the entry conflicts with no
   * other node's log, it appends a membership entry naming itself alone, then campaigns, which
   * it wins on its own vote. What it holds uncommitted becomes committed; what only the lost
   * replicas held is gone. The lost replicas must never serve this group again (their old
   * membership still counts them as a majority): the host removes them from its placement.
   * Returns the index of the membership entry.
   */
  forceSingleVoter (): number {
    if (this.corrupted) throw new ConfigChangeError('a corrupted replica cannot recover its group')
    if (this.installing !== undefined) throw new ConfigChangeError('a snapshot is being installed')
    // A leader that has lost its majority may not have noticed yet (check-quorum): it steps down first.
    if (this.role === 'leader') this.becomeFollower(this.term, null)
    // A new term first (the campaign's), then the entry in it: the candidate wins on its own vote
    // once the membership names it alone, and the entry commits in the term it was written in.
    this.becomeCandidate(true)
    const entry = this.nextEntry(RAFT_ENTRY_KIND, encodeConfig({ voters: [this.id], learners: [] }))
    this.log.reserve([entry])
    this.appendEntries([entry])
    this.logger.warn('membership forced to this replica alone (operator force-recovery)', { term: this.term, index: entry.index })
    return entry.index
  }

  /** Returns true when already done (transfer to self). */
  transferLeader (to: NodeId): boolean {
    this.requireLeader()
    if (to === this.id) return true
    if (!this.voters().includes(to)) throw new TransferFailedError(`${to} is not a voter`)
    if (this.transfer !== null) {
      if (this.transfer.to === to) return false
      throw new TransferFailedError(`a transfer to ${this.transfer.to} is in progress`)
    }
    this.wake()
    this.transfer = { to, startedAt: this.clock.now(), timeoutNowSent: false }
    this.maybeSendTimeoutNow(to)
    if (this.transfer !== null && !this.transfer.timeoutNowSent) this.sendAppend(to, false)
    return false
  }

  /** Starts a linearizable read; returns whether it was forwarded to the leader. */
  requestRead (id: number): 'local' | 'forwarded' {
    if (this.role !== 'leader') {
      if (this.role !== 'follower' || this.leader === null || this.corrupted) throw new NotLeaderError(this.leader)
      this.forwardedReads.add(id)
      // Depends on no write of ours: it may leave at once.
      this.send(this.leader, { type: 'readIndex', group: this.group, term: this.term, requestId: id }, false)
      return 'forwarded'
    }
    this.wake()
    this.enqueueRead({ id })
    return 'local'
  }

  private enqueueRead (origin: ReadOrigin): void {
    if (!this.committedInTerm()) this.readsAwaitingTermCommit.push(origin)
    else this.startRead(origin)
  }

  private startRead (origin: ReadOrigin): void {
    const voters = this.voters()
    const acks = new Set<NodeId>()
    if (voters.includes(this.id)) acks.add(this.id)
    if (acks.size >= quorumSize(voters)) {
      this.releaseRead(origin, this.commitIndex)
      return
    }
    this.readSeq += 1
    this.reads.push({ origin, index: this.commitIndex, seq: this.readSeq, acks })
    for (const to of this.progress.keys()) {
      const beat: Heartbeat = {
        type: 'heartbeat',
        group: this.group,
        term: this.term,
        commit: Math.min(this.progress.get(to)!.match, this.commitIndex),
        readSeq: this.readSeq,
        quiesce: false
      }
      this.send(to, beat, false)
    }
  }

  private releaseRead (origin: ReadOrigin, index: number): void {
    if ('id' in origin) {
      this.releasedReads.push({ id: origin.id, index })
    } else {
      const response: ReadIndexResponse = { type: 'readIndexResponse', group: this.group, term: this.term, requestId: origin.requestId, index }
      this.send(origin.from, response, false)
    }
  }

  /** The shell gave up on a forwarded read (timeout). */
  abandonRead (id: number): void {
    this.forwardedReads.delete(id)
  }

  private onReadAck (from: NodeId, seq: number): void {
    if (!this.voters().includes(from)) return
    let confirmed = -1
    const quorum = quorumSize(this.voters())
    for (let i = 0; i < this.reads.length; i++) {
      const read = this.reads[i]
      if (read.seq > seq) break
      read.acks.add(from)
      if (read.acks.size >= quorum) confirmed = i
    }
    // A quorum confirming a later round also confirms every earlier one.
    for (const read of this.reads.splice(0, confirmed + 1)) this.releaseRead(read.origin, read.index)
  }

  private requireLeader (): void {
    if (this.role !== 'leader' || this.corrupted) throw new NotLeaderError(this.role === 'leader' ? null : this.leader)
  }

  private nextEntry (kind: number, data: Uint8Array): LogEntry {
    return { index: this.log.lastIndex() + 1, term: this.term, kind, data }
  }

  private appendEntry (entry: LogEntry): number {
    this.appendEntries([entry])
    this.needsBroadcast = true
    return entry.index
  }

  private stepLeader (from: NodeId, m: RaftMessage): void {
    const pr = this.progress.get(from)
    if (pr === undefined) return
    switch (m.type) {
      case 'appendResponse': this.handleAppendResponse(from, pr, m); return
      case 'heartbeatResponse': this.handleHeartbeatResponse(from, pr, m); return
      case 'snapshotResponse': this.handleSnapshotResponse(from, pr, m); return
      case 'readIndex': this.enqueueRead({ from, requestId: m.requestId }); return
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.logger.error('two leaders in one term', { term: this.term, other: from })
        return
      default:
    }
  }

  private handleAppendResponse (from: NodeId, pr: Progress, m: AppendResponse): void {
    pr.recentActive = true
    const now = this.clock.now()
    if (m.reject) {
      if (pr.state === 'snapshot') return
      const stale = pr.state === 'replicate' ? m.index <= pr.match : m.index !== pr.next - 1
      if (stale) return
      let probeHint = m.hintIndex
      if (m.hintTerm > 0) probeHint = this.findConflictByTerm(Math.min(m.hintIndex, this.log.lastIndex()), m.hintTerm).index
      const next = Math.max(Math.min(m.index, probeHint + 1), pr.match + 1)
      pr.becomeProbe()
      pr.next = next
      this.sendAppend(from, false)
      return
    }
    const updated = pr.maybeUpdate(m.index, now)
    if (pr.state === 'probe' && m.index >= pr.match) pr.becomeReplicate()
    if (updated) {
      this.maybeCommit()
      if (this.role !== 'leader') return
      this.maybeSendTimeoutNow(from)
    }
    this.sendAppend(from, false)
  }

  private handleHeartbeatResponse (from: NodeId, pr: Progress, m: HeartbeatResponse): void {
    pr.recentActive = true
    pr.paused = false
    if (m.readSeq > 0) this.onReadAck(from, m.readSeq)
    if (pr.state === 'replicate' && pr.inflightCount() > 0 &&
      this.clock.now() - pr.progressAt >= 2 * this.config.heartbeatIntervalMs) {
      // Every append in the window may be lost: fall back to probing from the known match.
      pr.becomeProbe()
    }
    if (pr.match < this.log.lastIndex()) this.sendAppend(from, false)
  }

  private handleSnapshotResponse (from: NodeId, pr: Progress, m: SnapshotResponse): void {
    pr.recentActive = true
    if (pr.state !== 'snapshot' || pr.transfer === undefined || m.index !== pr.transfer.meta.index) return
    if (m.done) {
      pr.maybeUpdate(m.index, this.clock.now())
      pr.becomeProbe()
      this.maybeCommit()
      if (this.role !== 'leader') return
      this.sendAppend(from, false)
      return
    }
    pr.transfer.offset = Math.min(m.received, pr.transfer.data.length)
    this.sendSnapshotChunk(from, pr)
  }

  private maybeSendTimeoutNow (to: NodeId): void {
    const transfer = this.transfer
    if (transfer === null || transfer.to !== to || transfer.timeoutNowSent) return
    if (this.progress.get(to)?.match !== this.log.lastIndex()) return
    transfer.timeoutNowSent = true
    this.send(to, { type: 'timeoutNow', group: this.group, term: this.term }, false)
  }

  private maybeCommit (): void {
    const voters = this.voters()
    const matches = voters.map((voter) => voter === this.id ? this.persistedIndex : this.progress.get(voter)?.match ?? 0)
    matches.sort((a, b) => b - a)
    const candidate = matches[quorumSize(voters) - 1]
    if (candidate <= this.commitIndex) return
    // Figure 8: only an entry of the current term is committed by counting replicas.
    if (this.log.termAt(candidate) !== this.term && this.faults.commitPreviousTermByCounting !== true) return
    this.commitTo(candidate)
    this.commitBroadcast = true
    if (this.committedInTerm() && this.readsAwaitingTermCommit.length > 0) {
      const waiting = this.readsAwaitingTermCommit
      this.readsAwaitingTermCommit = []
      for (const origin of waiting) this.startRead(origin)
    }
    if (!voters.includes(this.id) && this.commitIndex >= this.membership.latestIndex()) this.stepDownAfterRemoval()
  }

  /** This leader's removal is committed: hand over to the most caught-up voter and step down. */
  private stepDownAfterRemoval (): void {
    let best: NodeId | null = null
    let bestMatch = -1
    for (const voter of this.voters()) {
      const match = this.progress.get(voter)?.match ?? 0
      if (match > bestMatch) { best = voter; bestMatch = match }
    }
    this.flushBroadcasts()
    if (best !== null && bestMatch === this.log.lastIndex()) {
      this.send(best, { type: 'timeoutNow', group: this.group, term: this.term }, false)
    }
    this.logger.info('removed from the group: stepping down', { term: this.term })
    this.becomeFollower(this.term, null)
  }

  private onConfigChanged (): void {
    if (this.role !== 'leader') return
    const current = members(this.membership.current())
    const now = this.clock.now()
    for (const member of current) {
      if (member !== this.id && !this.progress.has(member)) {
        this.progress.set(member, new Progress(this.log.lastIndex() + 1, this.config.maxInflightAppends, now))
      }
    }
    for (const id of [...this.progress.keys()]) {
      if (!current.includes(id)) this.progress.delete(id)
    }
    if (this.transfer !== null && !this.voters().includes(this.transfer.to)) {
      this.transferOutcome = 'aborted'
      this.transfer = null
    }
  }

  private bcastAppend (sendIfEmpty: boolean): void {
    for (const to of this.progress.keys()) this.sendAppend(to, sendIfEmpty)
  }

  private flushBroadcasts (): void {
    if (this.needsBroadcast || this.commitBroadcast) this.bcastAppend(this.commitBroadcast)
    this.needsBroadcast = false
    this.commitBroadcast = false
  }

  private sendAppend (to: NodeId, sendIfEmpty: boolean): void {
    const pr = this.progress.get(to)
    if (pr === undefined) return
    let sendEmpty = sendIfEmpty || pr.state === 'probe'
    while (!pr.isPaused()) {
      const prevIndex = pr.next - 1
      const prevTerm = this.log.termAt(prevIndex)
      if (prevTerm === undefined) {
        this.startSnapshot(to, pr)
        return
      }
      const lastIndex = this.log.lastIndex()
      let entries: LogEntry[] = []
      if (pr.next <= lastIndex) {
        const cached = this.log.cached(pr.next, lastIndex + 1, this.config.maxAppendBytes)
        if (cached === undefined) {
          pr.fetchingFrom = pr.next
          this.fetches.push({ to, term: this.term, from: pr.next, toExclusive: lastIndex + 1 })
          return
        }
        entries = cached
      } else if (!sendEmpty) {
        return
      }
      this.sendEntries(to, pr, prevIndex, prevTerm, entries)
      sendEmpty = false
      if (pr.state !== 'replicate' || pr.next > this.log.lastIndex()) return
    }
  }

  private sendEntries (to: NodeId, pr: Progress, prevIndex: number, prevTerm: number, entries: LogEntry[]): void {
    const message: AppendRequest = {
      type: 'append', group: this.group, term: this.term, prevIndex, prevTerm, entries, commit: this.commitIndex
    }
    this.send(to, message, false)
    if (entries.length > 0) pr.sentEntries(entries[entries.length - 1].index, this.clock.now())
    else if (pr.state === 'probe') pr.paused = true
  }

  /** Entries read from storage for a lagging follower. */
  onFetched (to: NodeId, term: number, from: number, entries: LogEntry[]): void {
    const pr = this.progress.get(to)
    if (this.role !== 'leader' || term !== this.term || pr === undefined || pr.fetchingFrom !== from) return
    pr.fetchingFrom = undefined
    const prevTerm = this.log.termAt(from - 1)
    const consistent = entries.length > 0 && entries[0].index === from &&
      entries.every((entry, i) => entry.index === from + i && this.log.termAt(entry.index) === entry.term)
    if (prevTerm === undefined || !consistent || pr.next !== from) {
      this.sendAppend(to, false)
      return
    }
    this.sendEntries(to, pr, from - 1, prevTerm, entries)
    this.sendAppend(to, false)
  }

  onFetchCompacted (to: NodeId, term: number, from: number): void {
    const pr = this.progress.get(to)
    if (this.role !== 'leader' || term !== this.term || pr === undefined || pr.fetchingFrom !== from) return
    this.startSnapshot(to, pr)
  }

  private startSnapshot (to: NodeId, pr: Progress): void {
    if (pr.state === 'snapshot') return
    pr.becomeSnapshot()
    this.snapshotLoads.push({ to, term: this.term })
  }

  onSnapshotLoaded (to: NodeId, term: number, snapshot: { meta: SnapshotMeta, data: Uint8Array } | null): void {
    const pr = this.progress.get(to)
    if (this.role !== 'leader' || term !== this.term || pr === undefined || pr.state !== 'snapshot' || pr.transfer !== undefined) return
    if (snapshot === null || snapshot.meta.index < this.log.firstIndex() - 1) {
      this.logger.warn('no usable snapshot for a lagging follower', { to })
      pr.becomeProbe()
      return
    }
    pr.transfer = { meta: snapshot.meta, data: snapshot.data, offset: 0, sentAt: this.clock.now() }
    this.sendSnapshotChunk(to, pr)
  }

  private sendSnapshotChunk (to: NodeId, pr: Progress): void {
    const transfer = pr.transfer
    if (transfer === undefined) return
    const chunk: SnapshotChunk = {
      type: 'snapshot',
      group: this.group,
      term: this.term,
      meta: transfer.meta,
      offset: transfer.offset,
      totalBytes: transfer.data.length,
      data: transfer.data.subarray(transfer.offset, transfer.offset + this.config.snapshotChunkBytes)
    }
    transfer.sentAt = this.clock.now()
    this.send(to, chunk, false)
  }

  // ---- quiescence ----------------------------------------------------------------------------

  /** Leader: every follower is caught up and nothing is pending, so heartbeats may stop. */
  canQuiesce (): boolean {
    if (!this.config.quiesce || this.role !== 'leader' || this.transfer !== null) return false
    if (this.reads.length > 0 || this.readsAwaitingTermCommit.length > 0) return false
    if (this.commitIndex !== this.log.lastIndex() || this.persistedIndex !== this.log.lastIndex()) return false
    for (const pr of this.progress.values()) {
      if (pr.match !== this.log.lastIndex() || pr.state !== 'replicate' || !pr.recentActive) return false
    }
    return true
  }

  /** Leaves quiescence (on a proposal, a message, or the host's word). */
  wake (): void {
    if (!this.quiesced) return
    this.quiesced = false
    // The check-quorum timer was paused while quiesced and restarts now: only contact after
    // the wake may count for its first round (flags from before quiescing are stale).
    if (this.role === 'leader') for (const pr of this.progress.values()) pr.recentActive = false
    this.resetElectionTimer(false)
    this.roleChanges.push({ type: 'WOKE' })
  }

  /** The host reports that `node` is down: an idle group must notice a dead leader or follower. */
  peerDown (node: NodeId): void {
    if (!this.quiesced) return
    if (this.role === 'leader' ? this.progress.has(node) : this.leader === node) this.wake()
  }

  // ---- output --------------------------------------------------------------------------------

  private send (to: NodeId, message: RaftMessage, afterSync: boolean): void {
    this.outbox.push({ to, message, afterSync })
  }

  private voteRequest (type: 'preVote' | 'vote', term: number, force: boolean): VoteRequest {
    return { type, group: this.group, term, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), force }
  }

  hasReady (): boolean {
    return this.outbox.length > 0 || this.hardStateDirty || this.log.hasPendingWrites() || this.needsBroadcast ||
      this.commitBroadcast || this.fetches.length > 0 || this.snapshotLoads.length > 0 || this.install !== undefined ||
      this.releasedReads.length > 0 || this.failedReads.length > 0 || this.steppedDown || this.transferOutcome !== undefined
  }

  takeReady (): Ready {
    if (this.role === 'leader') this.flushBroadcasts()
    const logWrites = this.log.hasPendingWrites() ? this.log.takeWrites() : undefined
    const hardState: HardState | undefined = this.hardStateDirty
      ? { term: this.term, vote: this.vote, commit: this.commitIndex }
      : undefined
    this.hardStateDirty = false
    const writes = logWrites !== undefined || hardState !== undefined
      ? { truncateFrom: logWrites?.truncateFrom, entries: logWrites?.entries ?? [], hardState }
      : undefined
    const ready: Ready = {
      writes,
      token: writes === undefined
        ? undefined
        : { index: this.log.lastIndex(), term: this.log.lastTerm(), hardTerm: this.term, vote: this.vote },
      messages: this.outbox,
      fetches: this.fetches,
      snapshotLoads: this.snapshotLoads,
      install: this.install,
      releasedReads: this.releasedReads,
      failedReads: this.failedReads,
      steppedDown: this.steppedDown,
      transferOutcome: this.transferOutcome
    }
    this.outbox = []
    this.fetches = []
    this.snapshotLoads = []
    this.install = undefined
    this.releasedReads = []
    this.failedReads = []
    this.steppedDown = false
    this.transferOutcome = undefined
    return ready
  }

  currentConfig (): MembershipConfig {
    return cloneConfig(this.membership.current())
  }

  /** Index of the entry that set the current config (see RaftStatus.configIndex). */
  configIndex (): number {
    return this.membership.latestIndex()
  }
}
