// The metadata leader's view of which nodes are down: a registered node not heard from (no
// frame on any stream, see the transport's node-level liveness) for NODE_DOWN_AFTER_MS is
// marked `down`, and `active` again once it is heard from. Down nodes leave the metadata voter
// choice; their partition replicas stay where they are (moving them is not built yet).
import type { NodeRecord } from '@blazar/broker'
import type { NodeId } from '@blazar/env'

/** How long a node may be silent before the metadata leader marks it down. */
export const NODE_DOWN_AFTER_MS = 10_000

export type NodeStateChange = { id: NodeId, state: 'active' | 'down' }

/**
 * State changes to propose, given how long each node has been silent (0 = heard from now).
 * Draining nodes are left alone: an operator put them there.
 */
export function nodeStateChanges (nodes: readonly NodeRecord[], self: NodeId, silentForMs: (id: NodeId) => number, downAfterMs = NODE_DOWN_AFTER_MS): NodeStateChange[] {
  const changes: NodeStateChange[] = []
  for (const node of nodes) {
    if (node.id === self || node.state === 'draining') continue
    const silent = silentForMs(node.id)
    if (node.state === 'active' && silent >= downAfterMs) changes.push({ id: node.id, state: 'down' })
    else if (node.state === 'down' && silent === 0) changes.push({ id: node.id, state: 'active' })
  }
  return changes
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
