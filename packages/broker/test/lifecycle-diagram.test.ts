import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { lifecycleDiagramMermaid } from '../src/index.ts'

t.test('the README statechart is the one generated from the machine', async (t) => {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
  t.ok(readme.includes('```mermaid\n' + lifecycleDiagramMermaid() + '\n```'), 'README.md is up to date')
})
