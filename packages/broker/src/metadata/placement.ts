// Placement (pure): which nodes host each partition group's replicas and which of them should
// lead. Spreads replicas over zones first (when nodes declare zones), then over the least
// loaded nodes, and spreads preferred leaders; ties break by node id so every replica of the
// metadata group computes the same answer. Also chooses the metadata group's voters.
import type { NodeId } from '@blazar/env'
import { NotEnoughNodesError } from '@blazar/protocol'

export interface PlacementNode {
  id: NodeId
  zone: string | null
}

export interface GroupPlacement {
  replicas: NodeId[]
  preferredLeader: NodeId
}

/** Replicas and preferred leaderships each node already holds. */
export interface PlacementLoad {
  replicas: Map<NodeId, number>
  leaders: Map<NodeId, number>
}

export function emptyLoad (): PlacementLoad {
  return { replicas: new Map(), leaders: new Map() }
}

/** Load implied by existing placements. */
export function loadOf (placements: Iterable<GroupPlacement>): PlacementLoad {
  const load = emptyLoad()
  for (const placement of placements) {
    for (const node of placement.replicas) load.replicas.set(node, (load.replicas.get(node) ?? 0) + 1)
    load.leaders.set(placement.preferredLeader, (load.leaders.get(placement.preferredLeader) ?? 0) + 1)
  }
  return load
}

/** The node with the lowest score (compared element by element); the first in id order on ties. */
function pickBest (nodes: readonly PlacementNode[], score: (node: PlacementNode) => number[]): PlacementNode {
  let best = nodes[0]
  let bestScore = score(best)
  for (const node of nodes.slice(1)) {
    const candidate = score(node)
    const i = candidate.findIndex((value, k) => value !== bestScore[k])
    if (i >= 0 && candidate[i] < bestScore[i]) {
      best = node
      bestScore = candidate
    }
  }
  return best
}

function byId (a: PlacementNode, b: PlacementNode): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/**
 * Places `count` new groups of `replicationFactor` replicas on `nodes` (the active ones),
 * updating `load` as it goes. Throws NotEnoughNodesError when there are fewer nodes than
 * replicas.
 */
export function placeGroups (nodes: readonly PlacementNode[], load: PlacementLoad, count: number, replicationFactor: number): GroupPlacement[] {
  if (nodes.length < replicationFactor) throw new NotEnoughNodesError({ required: replicationFactor, available: nodes.length })
  const sorted = [...nodes].sort(byId)
  const out: GroupPlacement[] = []
  const replicasOf = (node: PlacementNode): number => load.replicas.get(node.id) ?? 0
  const leadsOf = (node: PlacementNode): number => load.leaders.get(node.id) ?? 0
  for (let g = 0; g < count; g++) {
    // The preferred leader first, where leaderships are fewest (then replicas), so leaders
    // spread evenly; then the other replicas by zone spread and replica load.
    const leader = pickBest(sorted, (node) => [leadsOf(node), replicasOf(node)])
    const chosen: PlacementNode[] = [leader]
    const zonesUsed = new Map<string, number>()
    const take = (node: PlacementNode): void => {
      if (node.zone !== null) zonesUsed.set(node.zone, (zonesUsed.get(node.zone) ?? 0) + 1)
      load.replicas.set(node.id, replicasOf(node) + 1)
    }
    take(leader)
    load.leaders.set(leader.id, leadsOf(leader) + 1)
    while (chosen.length < replicationFactor) {
      const candidates = sorted.filter((node) => !chosen.includes(node))
      const picked = pickBest(candidates, (node) => [node.zone === null ? 0 : zonesUsed.get(node.zone) ?? 0, replicasOf(node)])
      chosen.push(picked)
      take(picked)
    }
    out.push({ replicas: chosen.map((node) => node.id).sort(), preferredLeader: leader.id })
  }
  return out
}

/**
 * The metadata group's voters: 5 when at least 5 nodes are active, else 3 (or all when fewer).
 * Current voters that are still active stay (no churn); new ones are added from zones not yet
 * represented, then by id. Every other node is a learner.
 */
export function chooseMetadataVoters (active: readonly PlacementNode[], currentVoters: readonly NodeId[]): { voters: NodeId[], learners: NodeId[] } {
  const target = active.length >= 5 ? 5 : Math.min(3, active.length)
  const sorted = [...active].sort(byId)
  const activeIds = new Set(sorted.map((node) => node.id))
  const voters = sorted.filter((node) => currentVoters.includes(node.id)).slice(0, target)
  while (voters.length < target) {
    const zones = new Set(voters.map((node) => node.zone))
    const candidates = sorted.filter((node) => !voters.includes(node))
    voters.push(candidates.find((node) => node.zone === null || !zones.has(node.zone)) ?? candidates[0])
  }
  const voterIds = voters.map((node) => node.id).sort()
  return { voters: voterIds, learners: [...activeIds].filter((id) => !voterIds.includes(id)) }
}

/** Replica moves proposed per planning round, so a drain moves data gradually. */
export const MAX_MOVES_PER_ROUND = 32

export interface PlacementMove {
  group: string
  placement: GroupPlacement
  /** The node leaving the replica set and the one joining it. */
  from: NodeId
  to: NodeId
}

/**
 * The placement actor's plan (pure): for replicas on leaving nodes (by default every node that
 * is not active: draining, down, or gone; `leaves` narrows it, e.g. to nodes down long enough),
 * a replacement on an active node outside the group, chosen like a new placement (zones first,
 * then least loaded, then id); a preferred leader on a leaving node moves to the remaining
 * replica with the fewest leaderships. At most `maxMoves` moves, one per group per round
 * (membership changes are one server at a time); groups that cannot move (not enough active
 * nodes) are left for later.
 */
export function planReplacements (
  nodes: readonly (PlacementNode & { state: string })[],
  placements: Iterable<[string, GroupPlacement]>,
  maxMoves = MAX_MOVES_PER_ROUND,
  leaves: (node: NodeId) => boolean = (node) => nodes.find((n) => n.id === node)?.state !== 'active'
): PlacementMove[] {
  const all = [...placements]
  const active = nodes.filter((node) => node.state === 'active').sort(byId)
  const zoneOf = new Map(nodes.map((node) => [node.id, node.zone]))
  const load = loadOf(all.map(([, placement]) => placement))
  const moves: PlacementMove[] = []
  for (const [group, placement] of [...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (moves.length >= maxMoves) break
    const leaving = placement.replicas.find((id) => leaves(id))
    if (leaving === undefined) continue
    const staying = placement.replicas.filter((id) => id !== leaving)
    const zonesUsed = new Map<string, number>()
    for (const id of staying) {
      const zone = zoneOf.get(id) ?? null
      if (zone !== null) zonesUsed.set(zone, (zonesUsed.get(zone) ?? 0) + 1)
    }
    const candidates = active.filter((node) => !placement.replicas.includes(node.id))
    if (candidates.length === 0) continue
    const to = pickBest(candidates, (node) => [node.zone === null ? 0 : zonesUsed.get(node.zone) ?? 0, load.replicas.get(node.id) ?? 0])
    load.replicas.set(to.id, (load.replicas.get(to.id) ?? 0) + 1)
    load.replicas.set(leaving, (load.replicas.get(leaving) ?? 1) - 1)
    const replicas = [...staying, to.id].sort()
    let preferredLeader = placement.preferredLeader
    if (preferredLeader === leaving) {
      const next = pickBest(replicas.map((id) => ({ id, zone: zoneOf.get(id) ?? null })), (node) => [load.leaders.get(node.id) ?? 0])
      load.leaders.set(leaving, (load.leaders.get(leaving) ?? 1) - 1)
      load.leaders.set(next.id, (load.leaders.get(next.id) ?? 0) + 1)
      preferredLeader = next.id
    }
    moves.push({ group, placement: { replicas, preferredLeader }, from: leaving, to: to.id })
  }
  return moves
}

/**
 * The balancer's replica plan (pure), for a cluster with nothing left to move off leaving
 * nodes: while the most loaded active node holds at least 2 replicas more than the least loaded
 * one (a node that just joined holds none), one replica of a group moves from the former to the
 * latter, never into a group the latter is already in and never narrowing a group's zone spread.
 * A preferred leader on the giving node moves along with the replica. At most `maxMoves` moves,
 * one per group.
 */
export function planRebalance (
  nodes: readonly (PlacementNode & { state: string })[],
  placements: Iterable<[string, GroupPlacement]>,
  maxMoves: number
): PlacementMove[] {
  const all = [...placements].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const active = nodes.filter((node) => node.state === 'active').sort(byId)
  const zoneOf = new Map(nodes.map((node) => [node.id, node.zone]))
  const load = loadOf(all.map(([, placement]) => placement))
  const replicasOf = (id: NodeId): number => load.replicas.get(id) ?? 0
  const zoneSpread = (replicas: readonly NodeId[]): number => new Set(replicas.map((id) => zoneOf.get(id) ?? id)).size
  const moved = new Set<string>()
  const moves: PlacementMove[] = []
  while (moves.length < maxMoves && active.length >= 2) {
    const most = pickBest(active, (node) => [-replicasOf(node.id)])
    const least = pickBest(active, (node) => [replicasOf(node.id)])
    if (replicasOf(most.id) - replicasOf(least.id) < 2) break
    const candidate = all.find(([group, placement]) => !moved.has(group) && placement.replicas.includes(most.id) && !placement.replicas.includes(least.id) &&
      zoneSpread(placement.replicas.map((id) => id === most.id ? least.id : id)) >= zoneSpread(placement.replicas))
    if (candidate === undefined) break
    const [group, placement] = candidate
    const replicas = placement.replicas.map((id) => id === most.id ? least.id : id).sort()
    const preferredLeader = placement.preferredLeader === most.id ? least.id : placement.preferredLeader
    load.replicas.set(most.id, replicasOf(most.id) - 1)
    load.replicas.set(least.id, replicasOf(least.id) + 1)
    moved.add(group)
    moves.push({ group, placement: { replicas, preferredLeader }, from: most.id, to: least.id })
  }
  return moves
}

/**
 * The balancer's leadership plan (pure): while the active node preferred to lead the most groups
 * leads at least 2 more than the one preferred for the fewest, one group whose replicas include
 * the latter gets it as preferred leader. At most `maxChanges` changes, one per group.
 */
export function planLeaderBalance (
  nodes: readonly (PlacementNode & { state: string })[],
  placements: Iterable<[string, GroupPlacement]>,
  maxChanges: number
): Array<{ group: string, placement: GroupPlacement }> {
  const all = [...placements].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const active = nodes.filter((node) => node.state === 'active').sort(byId)
  const load = loadOf(all.map(([, placement]) => placement))
  const leadsOf = (id: NodeId): number => load.leaders.get(id) ?? 0
  const changed = new Set<string>()
  const changes: Array<{ group: string, placement: GroupPlacement }> = []
  while (changes.length < maxChanges && active.length >= 2) {
    const most = pickBest(active, (node) => [-leadsOf(node.id)])
    const least = pickBest(active, (node) => [leadsOf(node.id)])
    if (leadsOf(most.id) - leadsOf(least.id) < 2) break
    const candidate = all.find(([group, placement]) => !changed.has(group) && placement.preferredLeader === most.id && placement.replicas.includes(least.id))
    if (candidate === undefined) break
    const [group, placement] = candidate
    load.leaders.set(most.id, leadsOf(most.id) - 1)
    load.leaders.set(least.id, leadsOf(least.id) + 1)
    changed.add(group)
    changes.push({ group, placement: { replicas: placement.replicas, preferredLeader: least.id } })
  }
  return changes
}
