import t from 'tap'
import fc from 'fast-check'
import { NotEnoughNodesError } from '@blazar/protocol'
import { chooseMetadataVoters, emptyLoad, loadOf, placeGroups, planLeaderBalance, planRebalance, planReplacements, type PlacementNode } from '../src/index.ts'

const nodesArb = (zones: number) => fc.integer({ min: 1, max: 9 }).map((n) =>
  Array.from({ length: n }, (_, i): PlacementNode => ({ id: `node-${i}`, zone: zones === 0 ? null : `zone-${i % zones}` })))

function spread (counts: Map<string, number>, nodes: PlacementNode[]): number {
  const values = nodes.map((node) => counts.get(node.id) ?? 0)
  return Math.max(...values) - Math.min(...values)
}

t.test('replicas are distinct, replica counts and preferred leaders are balanced', async () => {
  fc.assert(fc.property(nodesArb(0), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 60 }), (nodes, rf, groups) => {
    fc.pre(rf <= nodes.length)
    const placements = placeGroups(nodes, emptyLoad(), groups, rf)
    const load = loadOf(placements)
    return placements.every((p) => new Set(p.replicas).size === rf && p.replicas.includes(p.preferredLeader)) &&
      spread(load.replicas, nodes) <= 1 && spread(load.leaders, nodes) <= 1
  }))
})

t.test('with zones, a group never puts two replicas in one zone while another zone is free', async () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 30 }), (zones, rf, groups) => {
    const nodes = Array.from({ length: zones * 2 }, (_, i): PlacementNode => ({ id: `n${i}`, zone: `z${i % zones}` }))
    fc.pre(rf <= nodes.length)
    const placements = placeGroups(nodes, emptyLoad(), groups, rf)
    const zoneOf = new Map(nodes.map((n) => [n.id, n.zone]))
    return placements.every((p) => new Set(p.replicas.map((r) => zoneOf.get(r))).size === Math.min(rf, zones))
  }))
})

t.test('placement continues from existing load and is deterministic', async (t) => {
  const nodes: PlacementNode[] = [{ id: 'c', zone: null }, { id: 'a', zone: null }, { id: 'b', zone: null }, { id: 'd', zone: null }]
  const first = placeGroups(nodes, emptyLoad(), 3, 3)
  t.same(placeGroups([...nodes].reverse(), emptyLoad(), 3, 3), first, 'input order does not matter')
  const more = placeGroups(nodes, loadOf(first), 1, 3)
  t.notOk(more[0].replicas.includes('a') && more[0].replicas.includes('b') && more[0].replicas.includes('c'), 'the least loaded node is used')
  t.throws(() => placeGroups(nodes.slice(0, 2), emptyLoad(), 1, 3), NotEnoughNodesError)
})

t.test('metadata voters: 3 or 5, kept when still active, spread over zones', async (t) => {
  const nodes = (n: number, zones = 0): PlacementNode[] => Array.from({ length: n }, (_, i) => ({ id: `n${i}`, zone: zones === 0 ? null : `z${i % zones}` }))
  t.same(chooseMetadataVoters(nodes(1), []), { voters: ['n0'], learners: [] })
  t.equal(chooseMetadataVoters(nodes(4), []).voters.length, 3)
  t.same(chooseMetadataVoters(nodes(7), []).learners, ['n5', 'n6'])
  t.same(chooseMetadataVoters(nodes(4), ['n3', 'n2']).voters, ['n0', 'n2', 'n3'], 'current voters stay')
  const zoned = chooseMetadataVoters([{ id: 'a', zone: 'x' }, { id: 'b', zone: 'x' }, { id: 'c', zone: 'y' }, { id: 'd', zone: 'z' }], [])
  t.same(zoned.voters, ['a', 'c', 'd'])
})

t.test('draining a node: every replica on it gets a replacement outside the group; leaders move off it', async (t) => {
  const nodes = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, zone: null, state: 'active' }))
  const placements = placeGroups(nodes, emptyLoad(), 20, 3).map((p, i): [string, typeof p] => [`g${String(i).padStart(2, '0')}`, p])
  nodes[0].state = 'draining'
  const moves = planReplacements(nodes, placements)
  const onA = placements.filter(([, p]) => p.replicas.includes('a'))
  t.equal(moves.length, onA.length, 'one move per group hosting a')
  for (const move of moves) {
    t.equal(move.from, 'a')
    t.notOk(move.placement.replicas.includes('a'))
    t.equal(new Set(move.placement.replicas).size, 3)
    t.ok(move.placement.replicas.includes(move.placement.preferredLeader))
  }
  const after = new Map(placements)
  for (const move of moves) after.set(move.group, move.placement)
  const load = loadOf(after.values())
  const counts = ['b', 'c', 'd', 'e'].map((id) => load.replicas.get(id) ?? 0)
  t.ok(Math.max(...counts) - Math.min(...counts) <= 2, `replicas stay within 2 of each other: ${counts}`)
  t.same(planReplacements(nodes, after), [], 'nothing left to move')
  t.equal(planReplacements(nodes, placements, 2).length, 2, 'bounded per round')
})

t.test('replacements keep zones apart and wait when no node is free', async (t) => {
  const nodes = [
    { id: 'a1', zone: 'a', state: 'active' }, { id: 'a2', zone: 'a', state: 'active' },
    { id: 'b1', zone: 'b', state: 'active' }, { id: 'c1', zone: 'c', state: 'down' }
  ]
  const move = planReplacements(nodes, [['g', { replicas: ['a1', 'b1', 'c1'], preferredLeader: 'c1' }]])
  t.same(move, [{ group: 'g', placement: { replicas: ['a1', 'a2', 'b1'], preferredLeader: 'a1' }, from: 'c1', to: 'a2' }])
  const stuck = planReplacements(nodes.slice(1), [['g', { replicas: ['a2', 'b1', 'c1'], preferredLeader: 'a2' }]])
  t.same(stuck, [], 'no active node outside the group')
})

t.test('a node that joins empty receives replicas until counts are within one; zones stay apart', async (t) => {
  const nodes = ['a', 'b', 'c'].map((id) => ({ id, zone: null, state: 'active' }))
  const placements = placeGroups(nodes, emptyLoad(), 12, 3).map((p, i): [string, typeof p] => [`g${String(i).padStart(2, '0')}`, p])
  t.same(planRebalance(nodes, placements, 100), [], 'an even cluster is left alone')
  const grown = [...nodes, { id: 'd', zone: null, state: 'active' }]
  const moves = planRebalance(grown, placements, 100)
  const after = new Map(placements)
  for (const move of moves) {
    t.equal(move.to, 'd')
    t.notOk(placements.find(([g]) => g === move.group)?.[1].replicas.includes('d'))
    after.set(move.group, move.placement)
  }
  const load = loadOf(after.values())
  const counts = ['a', 'b', 'c', 'd'].map((id) => load.replicas.get(id) ?? 0)
  t.same(counts, [9, 9, 9, 9], 'replica counts even out (36 replicas on 4 nodes)')
  t.equal(new Set(moves.map((m) => m.group)).size, moves.length, 'one move per group')
  t.equal(planRebalance(grown, placements, 2).length, 2, 'bounded per round')
  t.same(planRebalance([...nodes, { id: 'd', zone: null, state: 'draining' }], placements, 100), [], 'only active nodes receive')
  const zoned = [{ id: 'a1', zone: 'a', state: 'active' }, { id: 'b1', zone: 'b', state: 'active' }, { id: 'c1', zone: 'c', state: 'active' }, { id: 'a2', zone: 'a', state: 'active' }]
  const spread: Array<[string, { replicas: string[], preferredLeader: string }]> = [['g1', { replicas: ['a1', 'b1', 'c1'], preferredLeader: 'a1' }], ['g2', { replicas: ['a1', 'b1', 'c1'], preferredLeader: 'b1' }]]
  const zonedMoves = planRebalance(zoned, spread, 10)
  t.ok(zonedMoves.every((m) => m.from === 'a1'), `only a replica from the same zone moves to a2: ${JSON.stringify(zonedMoves)}`)
})

t.test('preferred leaders even out over the active nodes', async (t) => {
  const nodes = ['a', 'b', 'c'].map((id) => ({ id, zone: null, state: 'active' }))
  const placements: Array<[string, { replicas: string[], preferredLeader: string }]> = Array.from({ length: 6 }, (_, i) => [`g${i}`, { replicas: ['a', 'b', 'c'], preferredLeader: 'a' }])
  const changes = planLeaderBalance(nodes, placements, 100)
  const after = new Map(placements)
  for (const change of changes) after.set(change.group, change.placement)
  t.same(['a', 'b', 'c'].map((id) => loadOf(after.values()).leaders.get(id) ?? 0), [2, 2, 2])
  t.same(planLeaderBalance(nodes, [...after], 100), [], 'balanced: nothing to change')
})
