import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeDisk } from '../src/node-disk.ts'
import { complianceSuite } from './support/compliance.ts'

complianceSuite(t, async () => {
  const root = await mkdtemp(join(tmpdir(), 'blazar-storage-'))
  return { disk: new NodeDisk(root), cleanup: () => rm(root, { recursive: true, force: true }) }
})
