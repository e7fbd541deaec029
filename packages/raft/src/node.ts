// RaftNode: the shell that runs a RaftCore against storage, the Env clock and a send function.
// After every input it takes the core's Ready batch and performs it: log writes and hard state
// go to storage and a sync starts (unless the batch only moved the commit index, which need not
// be durable); messages that depend on a write wait until every sync started so far completed; committed entries are applied in order on a serial task chain (which also
// installs received snapshots and takes local ones); promises of propose/readIndex/membership/
// transfer calls settle from what the core reports. Every input (a message, an API call, a
// machine timer, a completed storage call) runs the same way: the core call, then the role
// machine mirrors the core's role changes (re-arming that role's timers), then the batch is
// performed. The role machine runs on env.clock.
import {
  type Clock, type Env, LogCompactedError, type LogEntry, type MembershipConfig, type NodeId, type RaftStorage, type SnapshotMeta,
  StorageBackpressureError, StorageLimitError, timerApi
} from '@blazar/env'
import { type Actor, createActor } from 'xstate'
import { type RaftConfig, resolveRaftConfig } from './config.ts'
import { type ConfigChange, type PersistToken, RaftCore, type RaftFaults, type RaftObserver, type Ready } from './core.ts'
import {
  assert, BackpressureError, ConfigChangeError, LeadershipLostError, NotLeaderError, RaftStoppedError, ReadTimeoutError,
  StorageCorruptedError, TransferFailedError, TransferInProgressError
} from './errors.ts'
import { Membership, RAFT_ENTRY_KIND } from './membership.ts'
import type { RaftMessage } from './messages.ts'
import { quiescedIn, type RoleHooks, type RoleName, roleMachine, roleOf } from './roles.ts'

/** The application state a group replicates. */
export interface StateMachine {
  /** Committed entries in index order (kind 0 = Raft's own no-op/config entries, may be skipped). */
  apply (entry: LogEntry): void
  /** State as of the last applied entry. */
  snapshot (): Uint8Array
  /**
   * Restores a snapshot whose meta covers the log up to `meta.index`. When the state machine
   * limits compaction (`compactableIndex`), the data may already reflect later entries (up to
   * where it was applied when taken): those entries are applied again after the restore, and
   * the state machine must skip what its snapshot already holds.
   */
  restore (data: Uint8Array, meta: SnapshotMeta): void
  /**
   * The highest index whose entries the state machine no longer needs from the log (for
   * example, a partition whose messages live in the log needs every retained message). Local
   * snapshots cover, and compact, the log only up to here. Default: the applied index.
   */
  compactableIndex? (): number
  /**
   * Whether a local snapshot is wanted now, before `snapshotThresholdEntries` new entries (for
   * example, a partition whose retention trimmed many bytes: the snapshot lets the store delete
   * the log segments behind it). Default: never.
   */
  snapshotWanted? (): boolean
}

export interface RaftNodeOptions {
  id: NodeId
  group: string
  env: Env
  storage: RaftStorage
  /** Best effort; may drop, duplicate or reorder. */
  send: (to: NodeId, message: RaftMessage) => void
  stateMachine: StateMachine
  /** Membership when neither the log nor a snapshot holds one (a new cluster). */
  bootstrap?: MembershipConfig
  config?: Partial<RaftConfig>
  observer?: RaftObserver
  faults?: RaftFaults
}

export interface RaftStatus {
  id: NodeId
  group: string
  role: RoleName
  term: number
  leader: NodeId | null
  commitIndex: number
  appliedIndex: number
  lastIndex: number
  config: MembershipConfig
  /**
   * Index of the log entry that set `config` (a snapshot's index, or 0, when none in the log
   * did). The config is committed once commitIndex reaches it; before that a new leader may
   * still be elected under the previous one.
   */
  configIndex: number
  corrupted: boolean
  /** Idle group with timers stopped (config.quiesce). */
  quiesced: boolean
}

/** Bytes of entries applied (or scanned at recovery) per storage read. */
const APPLY_BATCH_BYTES = 4 * 1024 * 1024

/** The typed refusals of the API calls (as opposed to failures of the node), storage's own included. */
function isRefusal (error: unknown): boolean {
  return error instanceof NotLeaderError || error instanceof TransferInProgressError || error instanceof TransferFailedError ||
    error instanceof ConfigChangeError || error instanceof BackpressureError || error instanceof StorageBackpressureError ||
    error instanceof StorageLimitError
}

interface Pending { term: number, resolve: (index: number) => void, reject: (error: Error) => void }

export class RaftNode {
  readonly id: NodeId
  readonly group: string
  private readonly env: Env
  private readonly storage: RaftStorage
  private readonly sendMessage: (to: NodeId, message: RaftMessage) => void
  private readonly stateMachine: StateMachine
  private readonly bootstrap: MembershipConfig | undefined
  private readonly config: RaftConfig
  private readonly observer: RaftObserver
  private readonly faults: RaftFaults
  private core: RaftCore | undefined
  private actor: Actor<typeof roleMachine> | undefined
  private started = false
  private stopped = false
  /** A flush is queued for the end of this turn (proposals made in one turn share one batch). */
  private flushQueued = false
  private writesIssued = 0
  private writesDurable = 0
  /** Term and vote of the last hard state handed to storage (synced or not): a change needs a sync. */
  private writtenTerm = 0
  private writtenVote: NodeId | null = null
  private readonly awaitingSync: Array<{ seq: number, to: NodeId, message: RaftMessage }> = []
  private serial: Promise<void> = Promise.resolve()
  private applyQueued = false
  private notifiedCommit = 0
  private snapshotting = false
  private latestSnapshot: { meta: SnapshotMeta, data: Uint8Array } | null = null
  private readonly proposals = new Map<number, Pending>()
  private nextReadId = 1
  private readonly reads = new Map<number, { index: number | undefined, resolve: () => void, reject: (error: Error) => void }>()
  /** The transfer in flight and everyone waiting on it (a second caller for the same target waits on the same outcome). */
  private transferWaiter: { to: NodeId, waiters: Array<{ resolve: () => void, reject: (error: Error) => void }> } | undefined

  constructor (options: RaftNodeOptions) {
    this.id = options.id
    this.group = options.group
    this.env = options.env
    this.storage = options.storage
    this.sendMessage = options.send
    this.stateMachine = options.stateMachine
    this.bootstrap = options.bootstrap
    this.config = resolveRaftConfig(options.config)
    this.observer = options.observer ?? {}
    this.faults = options.faults ?? {}
  }

  /** Recovers from storage (snapshot, hard state, membership), then arms the timers. */
  start (): void {
    assert(!this.started, 'RaftNode.start called twice')
    this.started = true
    const recovered = this.storage.recovered
    this.writtenTerm = recovered.hardState.term
    this.writtenVote = recovered.hardState.vote
    if (recovered.corruption !== null) {
      const core = this.createCore(new Membership(this.bootstrap ?? { voters: [], learners: [] }, 0))
      core.markCorrupted(recovered.corruption.reason)
      core.init(recovered.hardState, recovered.snapshot)
      this.startActor()
      return
    }
    this.serial = this.serial.then(() => this.recover()).catch((error: unknown) => this.fail(error))
  }

  step (from: NodeId, message: RaftMessage): void {
    const core = this.core
    if (core === undefined || this.stopped || message.group !== this.group) return
    this.run(() => core.step(from, message))
  }

  propose (data: Uint8Array, kind = 1): Promise<number> {
    if (kind === RAFT_ENTRY_KIND) return Promise.reject(new RangeError('entry kind 0 is reserved for Raft'))
    return this.track((core) => core.propose(kind, data))
  }

  addLearner (id: NodeId): Promise<void> { return this.changeMembership({ kind: 'addLearner', node: id }) }
  promoteLearner (id: NodeId): Promise<void> { return this.changeMembership({ kind: 'promoteLearner', node: id }) }
  removeMember (id: NodeId): Promise<void> { return this.changeMembership({ kind: 'removeMember', node: id }) }

  /**
   * Operator force-recovery (RaftCore.forceSingleVoter): this replica becomes its group's only
   * voter and leader; resolves once that membership entry is committed. For a group whose
   * majority is lost for good; what only the lost replicas held is lost.
   */
  forceSingleVoter (): Promise<void> {
    const core = this.readyCore()
    if (core instanceof Error) return Promise.reject(core)
    let index = 0
    try {
      this.run(() => { index = core.forceSingleVoter() })
    } catch (error) {
      return Promise.reject(error)
    }
    // Registered after the step-down (when it led) was performed: that fails the old term's
    // proposals, not this one, which commits in the new term.
    return new Promise<void>((resolve, reject) => { this.proposals.set(index, { term: core.term, resolve: () => { resolve() }, reject }) })
  }

  /**
   * Linearizable read barrier: resolves once this node applied the leader's confirmed commit
   * index. On a follower the request is forwarded to the leader (ReadTimeoutError without an
   * answer within an election timeout).
   */
  readIndex (): Promise<void> {
    const core = this.readyCore()
    if (core instanceof Error) return Promise.reject(core)
    if (this.pendingCount() >= this.config.maxPendingProposals) return Promise.reject(new BackpressureError(this.config.maxPendingProposals))
    const id = this.nextReadId++
    return new Promise<void>((resolve, reject) => {
      try {
        this.reads.set(id, { index: undefined, resolve, reject })
        let mode = 'local' as 'local' | 'forwarded'
        this.run(() => { mode = core.requestRead(id) })
        if (mode === 'forwarded') {
          // A lost request or answer must not leave the caller waiting forever.
          this.env.clock.setTimer(this.config.electionTimeoutMs, () => {
            const read = this.reads.get(id)
            if (read === undefined || read.index !== undefined) return
            this.reads.delete(id)
            core.abandonRead(id)
            read.reject(new ReadTimeoutError())
          })
        }
      } catch (error) {
        this.reads.delete(id)
        reject(error)
      }
    })
  }

  transferLeader (to: NodeId): Promise<void> {
    const core = this.readyCore()
    if (core instanceof Error) return Promise.reject(core)
    if (this.transferWaiter !== undefined && this.transferWaiter.to !== to) {
      return Promise.reject(new TransferFailedError(`a transfer to ${this.transferWaiter.to} is in progress`))
    }
    return new Promise<void>((resolve, reject) => {
      try {
        let done = false
        this.run(() => { done = core.transferLeader(to) })
        if (done) resolve()
        else if (this.transferWaiter?.to === to) this.transferWaiter.waiters.push({ resolve, reject })
        else this.transferWaiter = { to, waiters: [{ resolve, reject }] }
      } catch (error) {
        reject(error)
      }
    })
  }

  /** Starts an election now (tests and operators); a no-op for a node that may not campaign. */
  campaign (): void {
    if (this.core === undefined || this.stopped) return
    const core = this.core
    this.run(() => core.campaign())
  }

  /** Host hint (quiescence): `node` is down, so an idle group must resume timers to notice. */
  peerDown (node: NodeId): void {
    const core = this.core
    if (core === undefined || this.stopped) return
    this.run(() => core.peerDown(node))
  }

  /** Host hint (quiescence): resume heartbeats and election timers now. */
  unquiesce (): void {
    const core = this.core
    if (core === undefined || this.stopped) return
    this.run(() => core.wake())
  }

  status (): RaftStatus {
    const core = this.core
    return {
      id: this.id,
      group: this.group,
      role: core?.role ?? 'follower',
      term: core?.term ?? 0,
      leader: core?.leader ?? null,
      commitIndex: core?.commitIndex ?? 0,
      appliedIndex: core?.appliedIndex ?? 0,
      lastIndex: core?.log.lastIndex() ?? this.storage.lastIndex(),
      config: core?.currentConfig() ?? { voters: [], learners: [] },
      configIndex: core?.configIndex() ?? 0,
      corrupted: core?.corrupted ?? this.storage.recovered.corruption !== null,
      quiesced: core?.quiesced ?? false
    }
  }

  /**
   * On the leader: the highest index known replicated on `peer` (its match index), or null when
   * this node does not lead or does not track `peer`. Hosts use it to promote a learner only
   * once it has caught up.
   */
  matchIndex (peer: NodeId): number | null {
    const core = this.core
    if (core === undefined || core.role !== 'leader') return null
    return core.progress.get(peer)?.match ?? null
  }

  /** Cancels timers and rejects every pending call. Used on shutdown and by the simulator on crash. */
  stop (): void {
    if (this.stopped) return
    this.stopped = true
    this.actor?.send({ type: 'STOP' })
    this.actor?.stop()
    const error = new RaftStoppedError()
    for (const pending of this.proposals.values()) pending.reject(error)
    this.proposals.clear()
    for (const read of this.reads.values()) read.reject(error)
    this.reads.clear()
    for (const waiter of this.transferWaiter?.waiters ?? []) waiter.reject(error)
    this.transferWaiter = undefined
    this.awaitingSync.length = 0
  }

  // ---- startup -------------------------------------------------------------------------------

  private async recover (): Promise<void> {
    const recovered = this.storage.recovered
    let snapshot: { meta: SnapshotMeta, data: Uint8Array } | null = null
    if (recovered.snapshot !== null) {
      snapshot = await this.storage.loadSnapshot()
      assert(snapshot !== null, 'storage reports a snapshot but loadSnapshot found none')
      this.stateMachine.restore(snapshot.data, snapshot.meta)
      this.latestSnapshot = snapshot
    }
    const membership = new Membership(snapshot?.meta.config ?? this.bootstrap ?? { voters: [], learners: [] }, snapshot?.meta.index ?? 0)
    const lastIndex = this.storage.lastIndex()
    for (let from = this.storage.firstIndex(); from <= lastIndex;) {
      const entries = await this.storage.read(from, lastIndex + 1, APPLY_BATCH_BYTES)
      assert(entries.length > 0, `recovery read at ${from} returned nothing`)
      membership.onAppend(entries)
      from = entries[entries.length - 1].index + 1
    }
    if (this.stopped) return
    const core = this.createCore(membership)
    core.init(recovered.hardState, snapshot?.meta ?? null)
    this.startActor()
    this.scheduleApply()
  }

  private createCore (membership: Membership): RaftCore {
    const core = new RaftCore({
      id: this.id,
      group: this.group,
      config: this.config,
      clock: this.env.clock,
      random: this.env.random,
      logger: this.env.logger.child({ node: this.id, group: this.group }),
      storage: this.storage,
      membership,
      faults: this.faults,
      observer: this.observer
    })
    this.core = core
    return core
  }

  private startActor (): void {
    const core = this.core!
    const config = this.config
    const hooks: RoleHooks = {
      electionDelayMs: () => core.electionDelayMs(),
      heartbeatIntervalMs: () => config.heartbeatIntervalMs,
      checkQuorumIntervalMs: () => config.electionTimeoutMs,
      corrupted: () => core.corrupted,
      tickElection: () => core.tickElection(),
      tickHeartbeat: () => core.tickHeartbeat(),
      tickQuorum: () => core.tickQuorum()
    }
    // A machine timer is an input like any other: its transition (whose action calls the core)
    // runs, then the role changes it caused are mirrored and the batch is performed.
    const env = this.env
    const inputClock: Clock = {
      now: () => env.clock.now(),
      setTimer: (delayMs, fire) => env.clock.setTimer(delayMs, () => this.onTimer(fire)),
      clearTimer: (handle) => env.clock.clearTimer(handle)
    }
    const actor = createActor(roleMachine, { input: { hooks }, clock: timerApi(inputClock) })
    actor.subscribe({ error: (error: unknown) => this.fail(error) })
    this.actor = actor
    actor.start()
    this.run(() => actor.send({ type: 'START' }))
  }

  // ---- the input/output loop -----------------------------------------------------------------

  /**
   * Runs one input against the core, then mirrors and performs its output. A refusal (a typed
   * error of an API call) is the caller's business; anything else (a failed invariant) stops the
   * node rather than let it continue wrong. Either way the error goes back to the caller.
   */
  private run (input: () => void): void {
    try {
      input()
      this.settle()
    } catch (error) {
      if (!isRefusal(error)) this.fail(error)
      throw error
    }
  }

  /** A role-machine timer fired: nobody waits on it, so a failure only stops the node. */
  private onTimer (fire: () => void): void {
    if (this.stopped) return
    try {
      fire()
      this.settle()
    } catch (error) {
      this.fail(error)
    }
  }

  /** After an input: the machine mirrors the core's role changes, then the batch is performed. */
  private settle (): void {
    this.mirrorRoles()
    this.assertMirrored()
    this.flush()
  }

  /** Sends the machine the core's role changes, in order. */
  private mirrorRoles (): void {
    const core = this.core
    if (core === undefined || this.stopped) return
    for (const change of core.takeRoleChanges()) this.actor?.send(change)
  }

  /** Once the machine has processed the changes sent, it is in the core's role. */
  private assertMirrored (): void {
    const core = this.core
    if (core === undefined || this.actor === undefined || this.stopped) return
    const state = this.actor.getSnapshot().value
    const machineRole = roleOf(state)
    assert(machineRole === undefined || machineRole === core.role, `role machine in ${machineRole}, core in ${core.role}`)
    assert(machineRole === undefined || quiescedIn(state) === core.quiesced, `role machine quiesced: ${quiescedIn(state)}, core: ${core.quiesced}`)
  }

  /** Performs the core's pending batches. */
  private flush (): void {
    const core = this.core
    if (core === undefined || this.stopped) return
    while (core.hasReady()) this.perform(core.takeReady())
    // After the batch's writes reached storage, so observers see the log the commit refers to.
    if (core.commitIndex !== this.notifiedCommit) {
      this.notifiedCommit = core.commitIndex
      this.observer.onCommit?.(core.commitIndex)
    }
    if (core.appliedIndex < core.commitIndex) this.scheduleApply()
  }

  private perform (ready: Ready): void {
    const core = this.core!
    if (ready.writes !== undefined) {
      const writes = ready.writes
      if (writes.truncateFrom !== undefined) this.storage.truncateSuffix(writes.truncateFrom)
      if (writes.entries.length > 0) this.storage.append(writes.entries)
      if (writes.hardState !== undefined) this.storage.setHardState(writes.hardState)
      assert(this.storage.lastIndex() === core.log.lastIndex(), 'storage and core disagree on the last index')
      if (this.needsSync(writes)) this.startSync(ready.token!)
    }
    for (const out of ready.messages) {
      if (out.afterSync && this.writesDurable < this.writesIssued) {
        this.awaitingSync.push({ seq: this.writesIssued, to: out.to, message: out.message })
      } else {
        this.sendMessage(out.to, out.message)
      }
    }
    for (const fetch of ready.fetches) this.fetchEntries(fetch.to, fetch.term, fetch.from, fetch.toExclusive)
    for (const load of ready.snapshotLoads) this.loadSnapshotFor(load.to, load.term)
    if (ready.install !== undefined) this.installSnapshot(ready.install.from, ready.install.meta, ready.install.data)
    for (const released of ready.releasedReads) {
      const read = this.reads.get(released.id)
      if (read !== undefined) read.index = released.index
    }
    for (const id of ready.failedReads) {
      this.reads.get(id)?.reject(new LeadershipLostError('readIndex'))
      this.reads.delete(id)
    }
    if (ready.releasedReads.length > 0) this.serveReads()
    if (ready.steppedDown) {
      for (const [index, pending] of this.proposals) {
        if (index > core.commitIndex) {
          pending.reject(new LeadershipLostError('proposal'))
          this.proposals.delete(index)
        }
      }
    }
    if (ready.transferOutcome !== undefined && this.transferWaiter !== undefined) {
      const { waiters } = this.transferWaiter
      this.transferWaiter = undefined
      for (const waiter of waiters) {
        if (ready.transferOutcome === 'done') waiter.resolve()
        else waiter.reject(new TransferFailedError('no TimeoutNow within an election timeout'))
      }
    }
  }

  /**
   * Whether a batch's writes must be made durable before the messages that depend on them go:
   * log entries, a truncation, or a new term or vote. A hard state that only moves the commit
   * index is written but not synced: Raft needs no durable commit index (a restarted node
   * re-learns it from its leader; core.init clamps the recovered one to the recovered log), and
   * the next sync makes it durable anyway. Its afterSync messages then wait only for the syncs
   * already in flight.
   */
  private needsSync (writes: NonNullable<Ready['writes']>): boolean {
    const hardState = writes.hardState
    const termOrVote = hardState !== undefined && (hardState.term !== this.writtenTerm || hardState.vote !== this.writtenVote)
    if (hardState !== undefined) {
      this.writtenTerm = hardState.term
      this.writtenVote = hardState.vote
    }
    return writes.truncateFrom !== undefined || writes.entries.length > 0 || termOrVote
  }

  private startSync (token: PersistToken): void {
    const seq = ++this.writesIssued
    this.storage.sync().then(() => {
      if (this.stopped) return
      this.writesDurable = Math.max(this.writesDurable, seq)
      while (this.awaitingSync.length > 0 && this.awaitingSync[0].seq <= this.writesDurable) {
        const waiting = this.awaitingSync.shift()!
        this.sendMessage(waiting.to, waiting.message)
      }
      this.run(() => this.core!.onPersisted(token))
    }, (error: unknown) => this.fail(error))
  }

  private fetchEntries (to: NodeId, term: number, from: number, toExclusive: number): void {
    this.storage.read(from, toExclusive, this.config.maxAppendBytes).then((entries) => {
      if (!this.stopped) this.run(() => this.core!.onFetched(to, term, from, entries))
    }, (error: unknown) => {
      if (this.stopped) return
      if (error instanceof LogCompactedError) this.run(() => this.core!.onFetchCompacted(to, term, from))
      else this.fail(error)
    })
  }

  private loadSnapshotFor (to: NodeId, term: number): void {
    const cached = this.latestSnapshot
    const load = cached !== null && cached.meta.index >= (this.core!.snapshotIndex())
      ? Promise.resolve(cached)
      : this.storage.loadSnapshot()
    load.then((snapshot) => {
      if (this.stopped) return
      if (snapshot !== null) this.latestSnapshot = snapshot
      this.run(() => this.core!.onSnapshotLoaded(to, term, snapshot))
    }, (error: unknown) => this.fail(error))
  }

  // ---- apply, snapshots (one serial chain) ---------------------------------------------------

  private enqueue (task: () => Promise<void> | void): void {
    this.serial = this.serial.then(async () => {
      if (!this.stopped) await task()
    }).catch((error: unknown) => this.fail(error))
  }

  private scheduleApply (): void {
    if (this.applyQueued) return
    this.applyQueued = true
    this.enqueue(() => this.applyCommitted())
  }

  private async applyCommitted (): Promise<void> {
    this.applyQueued = false
    const core = this.core!
    while (!this.stopped && core.installing === undefined && core.appliedIndex < core.commitIndex) {
      const from = core.appliedIndex + 1
      const toExclusive = core.commitIndex + 1
      const entries = core.log.cached(from, toExclusive, APPLY_BATCH_BYTES) ??
        await this.storage.read(from, toExclusive, APPLY_BATCH_BYTES)
      for (const entry of entries) {
        if (this.stopped || entry.index !== core.appliedIndex + 1 || entry.index > core.commitIndex) break
        this.stateMachine.apply(entry)
        core.onApplied(entry.index)
        this.observer.onApply?.(entry)
        this.settleProposal(entry)
      }
      this.serveReads()
    }
    await this.maybeSnapshot()
  }

  private settleProposal (entry: LogEntry): void {
    const pending = this.proposals.get(entry.index)
    if (pending === undefined) return
    this.proposals.delete(entry.index)
    if (pending.term === entry.term) pending.resolve(entry.index)
    else pending.reject(new LeadershipLostError('proposal'))
  }

  private serveReads (): void {
    const applied = this.core?.appliedIndex ?? 0
    for (const [id, read] of this.reads) {
      if (read.index !== undefined && read.index <= applied) {
        this.reads.delete(id)
        read.resolve()
      }
    }
  }

  private async maybeSnapshot (): Promise<void> {
    const core = this.core!
    const upTo = Math.min(core.appliedIndex, this.stateMachine.compactableIndex?.() ?? core.appliedIndex)
    if (this.snapshotting || upTo <= core.snapshotIndex()) return
    if (upTo - core.snapshotIndex() < this.config.snapshotThresholdEntries && this.stateMachine.snapshotWanted?.() !== true) return
    this.snapshotting = true
    try {
      const meta = core.snapshotMetaAt(upTo)
      const data = this.stateMachine.snapshot()
      await this.storage.saveSnapshot(meta, data)
      if (this.stopped) return
      this.latestSnapshot = { meta, data }
      this.run(() => core.onSnapshotSaved(meta))
    } finally {
      this.snapshotting = false
    }
  }

  private installSnapshot (from: NodeId, meta: SnapshotMeta, data: Uint8Array): void {
    this.enqueue(async () => {
      await this.storage.saveSnapshot(meta, data)
      if (this.stopped) return
      this.stateMachine.restore(data, meta)
      this.latestSnapshot = { meta, data }
      this.run(() => this.core!.onSnapshotInstalled(meta, from))
      for (const [index, pending] of this.proposals) {
        if (index <= meta.index) {
          this.proposals.delete(index)
          pending.resolve(index)
        }
      }
      this.serveReads()
    })
  }

  // ---- helpers -------------------------------------------------------------------------------

  private readyCore (): RaftCore | Error {
    if (this.stopped) return new RaftStoppedError()
    const core = this.core
    if (core === undefined) return new NotLeaderError(null)
    if (core.corrupted) return new StorageCorruptedError('this node refuses to lead')
    return core
  }

  private pendingCount (): number {
    return this.proposals.size + this.reads.size
  }

  private track (append: (core: RaftCore) => number): Promise<number> {
    const core = this.readyCore()
    if (core instanceof Error) return Promise.reject(core)
    if (this.pendingCount() >= this.config.maxPendingProposals) return Promise.reject(new BackpressureError(this.config.maxPendingProposals))
    return new Promise<number>((resolve, reject) => {
      try {
        const index = append(core)
        this.proposals.set(index, { term: core.term, resolve, reject })
        // A proposal may wake a quiesced group: the machine follows at once; the batch waits.
        this.mirrorRoles()
      } catch (error) {
        if (!isRefusal(error)) this.fail(error)
        reject(error)
        return
      }
      this.queueFlush()
    })
  }

  /** Proposals made in one synchronous turn share one flush: one write batch, one append per follower. */
  private queueFlush (): void {
    if (this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => {
      this.flushQueued = false
      if (this.stopped) return
      try {
        this.settle()
      } catch (error) {
        this.fail(error)
      }
    })
  }

  private changeMembership (change: ConfigChange): Promise<void> {
    return this.track((core) => core.proposeConfigChange(change)).then(() => undefined)
  }

  private fail (error: unknown): void {
    if (this.stopped) return
    this.env.logger.error('raft node failed; stopping', { node: this.id, group: this.group, error: String(error) })
    this.stop()
    this.observer.onFailure?.(error)
  }
}
