// Rewrites the generated statechart between the markers in docs/raft.md.
//   node packages/raft/scripts/diagram.ts
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { replaceDiagram } from '../test/support/docs.ts'

const path = join(import.meta.dirname, '..', '..', '..', 'docs', 'raft.md')
writeFileSync(path, replaceDiagram(readFileSync(path, 'utf8')))
console.log(`wrote the role diagram into ${path}`)
