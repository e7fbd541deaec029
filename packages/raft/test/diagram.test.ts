// docs/raft.md carries the statechart generated from the role machine; this fails when the
// machine changed and the doc was not regenerated (node packages/raft/scripts/diagram.ts).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { roleDiagramMermaid } from '../src/diagram.ts'
import { diagramBlock } from './support/docs.ts'

t.test('the diagram covers every role change and timer transition', async (t) => {
  const diagram = roleDiagramMermaid()
  for (const text of ['any_state --> leader : BECAME_LEADER', 'any_state --> precandidate : BECAME_PRECANDIDATE',
    'follower_waiting --> follower_waiting : after electionTimeout / tickElection',
    'leader_quorum_checking --> leader_quorum_checking : after checkQuorumInterval / tickQuorum']) {
    t.ok(diagram.includes(text), text)
  }
})

t.test('docs/raft.md contains the current generated diagram', async (t) => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'raft.md'), 'utf8')
  t.ok(doc.includes(diagramBlock()), 'regenerate with: node packages/raft/scripts/diagram.ts')
})
