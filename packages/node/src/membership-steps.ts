// Raft membership changes driven by a group's leader, one server at a time: the step type both
// drivers share (the metadata group's voter actor and a partition's replica moves), how a step
// is carried out, when a learner counts as caught up, and the partition's next step towards its
// placement. A partition's leader adds each placed node missing from the group as a learner,
// promotes it once it has caught up, then removes the members the placement no longer names;
// when the leader itself is leaving it first hands leadership to a caught-up placed voter.
import type { MembershipConfig, NodeId } from '@blazar/env'
import type { RaftNode } from '@blazar/raft'

/** A learner is promoted once its log is within this many entries of the leader's commit index. */
export const LEARNER_CATCH_UP_ENTRIES = 16

export type MembershipStep = { kind: 'addLearner' | 'promoteLearner' | 'removeMember', node: NodeId }

/** A partition's next step: a membership change, a leadership hand-off, or the report that it matches its placement. */
export type ReplicaStep = MembershipStep | { kind: 'transferLeader', node: NodeId } | { kind: 'matched' }

export async function applyMembershipStep (raft: RaftNode, step: MembershipStep): Promise<void> {
  if (step.kind === 'addLearner') await raft.addLearner(step.node)
  else if (step.kind === 'promoteLearner') await raft.promoteLearner(step.node)
  else await raft.removeMember(step.node)
}

/** On the leader: whether `peer`'s log is within LEARNER_CATCH_UP_ENTRIES of the commit index. */
export function caughtUp (raft: RaftNode, peer: NodeId): boolean {
  const match = raft.matchIndex(peer)
  return match !== null && match + LEARNER_CATCH_UP_ENTRIES >= raft.status().commitIndex
}

/**
 * The partition leader's next step towards `target` (the placement's replicas), or null while
 * nothing can be done yet (a learner still catching up, no placed voter to hand off to).
 * `matched` once the voters are exactly the target and no learner is left.
 */
export function nextReplicaStep (input: {
  self: NodeId
  config: MembershipConfig
  target: readonly NodeId[]
  caughtUp: (peer: NodeId) => boolean
  isPeerLive: (peer: NodeId) => boolean
}): ReplicaStep | null {
  const { self, config, target } = input
  const members = new Set([...config.voters, ...config.learners])
  for (const node of [...target].sort()) {
    if (!members.has(node)) return { kind: 'addLearner', node }
  }
  let waiting = false
  for (const node of [...target].sort()) {
    if (!config.learners.includes(node)) continue
    if (input.caughtUp(node)) return { kind: 'promoteLearner', node }
    waiting = true
  }
  // Nothing leaves before every placed node votes: the group never shrinks below its target.
  if (waiting) return null
  const leaving = [...members].filter((node) => !target.includes(node)).sort()
  const other = leaving.find((node) => node !== self)
  if (other !== undefined) return { kind: 'removeMember', node: other }
  if (leaving.includes(self)) {
    const next = target.filter((node) => config.voters.includes(node) && input.isPeerLive(node) && input.caughtUp(node)).sort()[0]
    return next === undefined ? null : { kind: 'transferLeader', node: next }
  }
  return { kind: 'matched' }
}
