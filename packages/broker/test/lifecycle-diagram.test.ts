import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { lifecycleDiagramForType, lifecycleDiagramMermaid } from '../src/index.ts'

t.test('the README statechart is the one generated from the machine', async (t) => {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
  t.ok(readme.includes('```mermaid\n' + lifecycleDiagramMermaid() + '\n```'), 'README.md is up to date')
})

t.test('per type, the chart keeps only the transitions that type takes', async (t) => {
  const exclusive = lifecycleDiagramForType('Exclusive')
  const shared = lifecycleDiagramForType('Shared')
  t.notMatch(exclusive, /admitsAnotherConsumer|isConsumer\]/, 'Exclusive: one consumer, no second ATTACH, no DETACH that leaves others')
  t.match(exclusive, /consuming --> noConsumer : DETACH \[isOnlyConsumer\]/)
  t.match(shared, /consuming --> consuming : ATTACH \[admitsAnotherConsumer\]/)
  t.match(shared, /consuming --> consuming : DETACH \[isConsumer\]/)
  for (const chart of [exclusive, shared]) {
    for (const edge of chart.split('\n').filter((line) => line.includes(' : '))) t.ok(lifecycleDiagramMermaid().includes(edge), `${edge.trim()} is a transition of the machine`)
  }
})
