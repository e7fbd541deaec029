// The production nodes with bit rot at rest: while a node is down, one bit of one of its
// journal or segment files flips; the node restarts on the damaged disk, and its store must
// notice (CRCs) and repair the damaged groups from peers, never serve the damaged bytes. Plus
// crashes and isolation, so the repair has to happen under faults.
import type { Scenario } from '../packages/sim/src/index.ts'

export const nodeCorruption: Scenario = {
  name: 'node-corruption',
  kind: 'node',
  description: 'production nodes with a bit flipped at rest while down, plus crashes and isolation: the store detects and repairs, no damaged byte served',
  nodes: 3,
  nodeNemesis: { weights: { corruption: 2, crash: 1, isolate: 1 }, maxActive: 1 }
}
