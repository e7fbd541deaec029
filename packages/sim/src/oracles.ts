// The omniscient safety oracles, fed synchronously by every node's observer hooks, storage
// wrapper and state machine, so each invariant is checked at the event that could break it:
//   election safety      at most one leader per term;
//   log matching         entries with equal (index, term) hold the same data and follow the
//                        same previous term (by induction: identical prefixes);
//   leader completeness  a new leader's log holds every entry committed in an earlier term;
//   committed entries    never change: one canonical term per committed index, never truncated
//                        by the node that committed it, never contradicted by a snapshot;
//   state machine safety every replica applies the same entry at each index, in index order,
//                        and reaches the same state digest after it.
// The first violation is kept; the simulation driver stops at the end of that event.
import type { LogEntry, SnapshotMeta } from '@blazar/env'
import { entryDigest } from './kv-register.ts'

export type InvariantName =
  | 'election-safety' | 'log-matching' | 'leader-completeness' | 'committed-entries-never-change'
  | 'state-machine-safety' | 'liveness-leader' | 'liveness-pending-operations' | 'liveness-term-stable'
  | 'linearizability' | 'node-error' | 'determinism'
  | 'queue-lost-message' | 'queue-phantom-message' | 'queue-order' | 'queue-cursor-regression' | 'queue-liveness'
  | 'queue-delayed-delivery' | 'queue-dispatch-liveness' | 'queue-redelivery-count' | 'queue-dead-letter' | 'queue-seek'
  | 'queue-unknown-topic' | 'queue-cancelled-subscribe-attached'

export interface Violation {
  invariant: InvariantName
  message: string
  /** Virtual time of detection. */
  time: number
}

/** What the oracles may read from a node's log at the time of a check. */
export interface LogView {
  firstIndex (): number
  lastIndex (): number
  termAt (index: number): number | undefined
}

interface NodeOracleState {
  commitIndex: number
  lastApplied: number
}

export class Oracles {
  private readonly now: () => number
  private first: Violation | null = null
  private readonly leaders = new Map<number, string>()
  private readonly logEntries = new Map<string, { digest: number, prevTerm: number, node: string }>()
  private readonly committedTerm: number[] = []
  /**
   * Per committed index, the lowest term of a node that reported it committed: an upper bound
   * on the term whose leader committed it (a follower learns commits from its term's leader).
   */
  private readonly commitTerm: number[] = []
  private readonly appliedDigest: number[] = []
  private readonly stateDigest: number[] = []
  private maxCommitted = 0
  private readonly pendingCommits = new Map<string, { commitIndex: number, term: number, log: LogView }>()
  private readonly nodes = new Map<string, NodeOracleState>()
  checks = 0

  constructor (now: () => number) {
    this.now = now
  }

  get violation (): Violation | null {
    return this.first
  }

  get highestCommitted (): number {
    return this.maxCommitted
  }

  report (invariant: InvariantName, message: string): void {
    if (this.first === null) this.first = { invariant, message, time: this.now() }
  }

  /** A node process (re)starts: its volatile commit and applied indexes start over. */
  nodeStarted (node: string, log: LogView): void {
    this.pendingCommits.delete(node)
    this.nodes.set(node, { commitIndex: Math.max(0, log.firstIndex() - 1), lastApplied: 0 })
  }

  /** A node process died: its unchecked reports die with it. */
  nodeCrashed (node: string): void {
    this.pendingCommits.delete(node)
    this.nodes.delete(node)
  }

  leaderElected (node: string, term: number, log: LogView): void {
    this.checks++
    const previous = this.leaders.get(term)
    if (previous !== undefined && previous !== node) {
      this.report('election-safety', `term ${term} has two leaders: ${previous} and ${node}`)
      return
    }
    this.leaders.set(term, node)
    // Entries committed in an earlier term; one committed by a later term's leader (elections
    // of different terms can finish in any order) is no concern of this one.
    for (let i = Math.max(1, log.firstIndex() - 1); i <= this.maxCommitted; i++) {
      const committed = this.committedTerm[i]
      const committedIn = this.commitTerm[i]
      if (committed === undefined || committedIn === undefined || committedIn >= term) continue
      const held = log.termAt(i)
      if (held !== committed) {
        this.report('leader-completeness', `${node} became leader of term ${term} but holds ${held === undefined ? 'no entry' : `term ${held}`} at index ${i}, where an entry of term ${committed} was committed in term ${committedIn}`)
        return
      }
    }
  }

  appended (node: string, entries: readonly LogEntry[], prevTerm: number): void {
    let previous = prevTerm
    for (const entry of entries) {
      this.checks++
      const key = `${entry.index}:${entry.term}`
      const digest = entryDigest(entry)
      const known = this.logEntries.get(key)
      if (known === undefined) this.logEntries.set(key, { digest, prevTerm: previous, node })
      else if (known.digest !== digest || known.prevTerm !== previous) {
        const what = known.digest !== digest ? 'different data' : `previous term ${previous} vs ${known.prevTerm}`
        this.report('log-matching', `entry (index ${entry.index}, term ${entry.term}) on ${node} differs from ${known.node}'s: ${what}`)
        return
      }
      if (entry.term < previous) this.report('log-matching', `${node} appended index ${entry.index} of term ${entry.term} after term ${previous}`)
      previous = entry.term
    }
  }

  truncated (node: string, fromIndex: number): void {
    const state = this.nodes.get(node)
    if (state !== undefined && fromIndex <= state.commitIndex) {
      this.report('committed-entries-never-change', `${node} truncated its log from ${fromIndex} but had committed ${state.commitIndex}`)
    }
  }

  snapshotSaved (node: string, meta: SnapshotMeta): void {
    this.checkCommittedTerm(node, meta.index, meta.term, 'snapshot')
  }

  /**
   * A node reports a new commit index. Raft may report it before the entries reach storage
   * (a follower learns the commit with the entries in one message), so the check runs at the
   * end of the event, once the node's writes for it are issued.
   */
  committed (node: string, commitIndex: number, term: number, log: LogView): void {
    const earlier = this.pendingCommits.get(node)
    this.pendingCommits.set(node, { commitIndex, term: Math.min(term, earlier?.term ?? term), log })
  }

  /** Runs the checks deferred to the end of the current event. */
  endOfEvent (): void {
    if (this.pendingCommits.size === 0) return
    for (const [node, { commitIndex, term, log }] of this.pendingCommits) this.checkCommit(node, commitIndex, term, log)
    this.pendingCommits.clear()
  }

  private checkCommit (node: string, commitIndex: number, reporterTerm: number, log: LogView): void {
    const state = this.nodes.get(node)
    if (state === undefined) return
    if (commitIndex < state.commitIndex) {
      this.report('committed-entries-never-change', `${node}'s commit index went back from ${state.commitIndex} to ${commitIndex}`)
      return
    }
    if (commitIndex > log.lastIndex()) {
      this.report('committed-entries-never-change', `${node} committed ${commitIndex} beyond its last index ${log.lastIndex()}`)
      return
    }
    for (let i = Math.max(state.commitIndex + 1, log.firstIndex() - 1); i <= commitIndex; i++) {
      const term = log.termAt(i)
      if (term !== undefined && !this.checkCommittedTerm(node, i, term, 'commit')) return
      const known = this.commitTerm[i]
      if (known === undefined || reporterTerm < known) this.commitTerm[i] = reporterTerm
    }
    state.commitIndex = commitIndex
  }

  applied (node: string, entry: LogEntry): void {
    this.checks++
    const state = this.nodes.get(node)
    if (state === undefined) return
    if (entry.index <= state.lastApplied) {
      this.report('state-machine-safety', `${node} applied index ${entry.index} after ${state.lastApplied}`)
      return
    }
    state.lastApplied = entry.index
    if (!this.checkCommittedTerm(node, entry.index, entry.term, 'apply')) return
    const digest = entryDigest(entry)
    const canonical = this.appliedDigest[entry.index]
    if (canonical === undefined) this.appliedDigest[entry.index] = digest
    else if (canonical !== digest) this.report('state-machine-safety', `${node} applied different data at index ${entry.index} than another replica`)
  }

  restored (node: string, meta: SnapshotMeta): void {
    const state = this.nodes.get(node)
    if (state !== undefined) {
      if (meta.index < state.lastApplied) this.report('state-machine-safety', `${node} restored a snapshot at ${meta.index} below its applied index ${state.lastApplied}`)
      state.lastApplied = meta.index
    }
    this.checkCommittedTerm(node, meta.index, meta.term, 'snapshot')
  }

  /** The state machine's digest right after applying the write at `index`. */
  stateReached (node: string, index: number, digest: number): void {
    const canonical = this.stateDigest[index]
    if (canonical === undefined) this.stateDigest[index] = digest
    else if (canonical !== digest) this.report('state-machine-safety', `${node}'s state after index ${index} differs from another replica's`)
  }

  private checkCommittedTerm (node: string, index: number, term: number, how: string): boolean {
    if (index <= 0) return true
    const known = this.committedTerm[index]
    if (known === undefined) {
      this.committedTerm[index] = term
      if (index > this.maxCommitted) this.maxCommitted = index
      return true
    }
    if (known !== term) {
      this.report('committed-entries-never-change', `the committed entry at index ${index} has term ${known}, but ${node} ${how === 'commit' ? 'committed' : how === 'apply' ? 'applied' : 'holds a snapshot of'} one of term ${term} there`)
      return false
    }
    return true
  }
}
