// DESIGN.md §3: the core packages reach time, randomness, disk and sockets only through Env.
// This test reads their sources and fails on any direct use of the forbidden globals/modules.
import t from 'tap'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { findWorldAccess } from './support/world-access.ts'

const root = join(import.meta.dirname, '..')
const corePackages = ['raft', 'broker']

function sourceFiles (dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

for (const pkg of corePackages) {
  const files = sourceFiles(join(root, 'packages', pkg, 'src'))
  t.test(`packages/${pkg}/src touches the world only through Env`, async (t) => {
    const hits = files.flatMap((file) => findWorldAccess(readFileSync(file, 'utf8')).map((hit) => `${file}:${hit.line}: ${hit.text}`))
    t.same(hits, [], hits.join('\n'))
  })
}

t.test('the checker finds each forbidden call and ignores comments', async (t) => {
  const samples = [
    'const a = Date.now()', 'performance.now()', 'setTimeout(f, 1)', 'setInterval(f, 1)',
    'setImmediate(f)', 'Math.random()', 'crypto.randomUUID()', "import { readFile } from 'node:fs'",
    "import net from 'node:net'", "import { writeFile } from 'fs/promises'", "import { createLibp2p } from 'libp2p'",
    "import { tcp } from '@libp2p/tcp'", "const fs = await import('node:fs')"
  ]
  for (const sample of samples) t.equal(findWorldAccess(sample).length, 1, sample)
  t.same(findWorldAccess('// Date.now() is forbidden here\n * Math.random() in a doc comment'), [])
  t.same(findWorldAccess('clock.now(); random.next()'), [])
})
