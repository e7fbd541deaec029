// The metadata leader's view of which nodes are down: a registered node not heard from (no
// frame on any stream, see the transport's node-level liveness) for NODE_DOWN_AFTER_MS is
// marked `down`, and `active` again once it is heard from (the leader itself always is).
// Down nodes leave the metadata voter choice and receive no preferred-leader hand-offs; a
// node that finds itself marked down while it is running hands the leadership of its
// partitions to an active voter it hears from, so nothing stays led by a node the cluster
// cannot hear. Partition replicas stay where they are (moving them is not built yet).
import type { NodeRecord, NodeState } from '@blazar/broker'
import type { NodeId } from '@blazar/env'

/** How long a node may be silent before the metadata leader marks it down. */
export const NODE_DOWN_AFTER_MS = 10_000

export type NodeStateChange = { id: NodeId, state: 'active' | 'down' }

/**
 * State changes to propose, given how long each node has been silent (0 = heard from now).
 * `self` (the metadata leader) is running, so never silent: marked down earlier by another
 * leader, it is marked active again. Draining nodes are left alone: an operator put them there.
 */
export function nodeStateChanges (nodes: readonly NodeRecord[], self: NodeId, silentForMs: (id: NodeId) => number, downAfterMs = NODE_DOWN_AFTER_MS): NodeStateChange[] {
  const changes: NodeStateChange[] = []
  for (const node of nodes) {
    if (node.state === 'draining') continue
    const silent = node.id === self ? 0 : silentForMs(node.id)
    if (node.state === 'active' && silent >= downAfterMs) changes.push({ id: node.id, state: 'down' })
    else if (node.state === 'down' && silent === 0) changes.push({ id: node.id, state: 'active' })
  }
  return changes
}

export interface LedGroup {
  group: string
  voters: readonly NodeId[]
}

/**
 * The leadership hand-offs of a node the metadata marks `down` while it runs: each group it
 * leads goes to the first voter that is `active` and that it hears from. None when it is not
 * down, and none for a group without such a voter (keeping a leader beats having none).
 */
export function downLeaderHandOffs (input: {
  self: NodeId
  stateOf: (id: NodeId) => NodeState | undefined
  isPeerLive: (id: NodeId) => boolean
  led: readonly LedGroup[]
}): Array<{ group: string, to: NodeId }> {
  if (input.stateOf(input.self) !== 'down') return []
  const handOffs: Array<{ group: string, to: NodeId }> = []
  for (const { group, voters } of input.led) {
    const to = voters.find((id) => id !== input.self && input.stateOf(id) === 'active' && input.isPeerLive(id))
    if (to !== undefined) handOffs.push({ group, to })
  }
  return handOffs
}

/** Tracks since when each peer has been silent, from periodic liveness samples. */
export class SilenceTracker {
  private readonly silentSince = new Map<NodeId, number>()

  /** Records a sample; answers how long `peer` has been silent (0 when live). */
  sample (peer: NodeId, live: boolean, now: number): number {
    if (live) {
      this.silentSince.delete(peer)
      return 0
    }
    const since = this.silentSince.get(peer) ?? now
    this.silentSince.set(peer, since)
    return now - since
  }

  /** Forgets every sample (a new leader starts counting afresh). */
  clear (): void {
    this.silentSince.clear()
  }
}
