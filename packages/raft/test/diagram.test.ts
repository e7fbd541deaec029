// docs/raft.md carries the statechart generated from the role machine; this fails when the
// machine changed and the doc was not regenerated (node packages/raft/scripts/diagram.ts).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { roleDiagramMermaid } from '../src/diagram.ts'
import { diagramBlock } from './support/docs.ts'

t.test('the diagram covers every role and timer transition', async (t) => {
  const diagram = roleDiagramMermaid()
  for (const text of ['follower_waiting --> precandidate : after electionTimeout [canPreCampaign] / preCampaign',
    'candidate --> leader : ELECTED / lead', 'precandidate --> candidate : PRE_VOTE_WON / campaign']) {
    t.ok(diagram.includes(text), text)
  }
})

t.test('docs/raft.md contains the current generated diagram', async (t) => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'raft.md'), 'utf8')
  t.ok(doc.includes(diagramBlock()), 'regenerate with: node packages/raft/scripts/diagram.ts')
})
