import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLUSTER_FILE, readClusterFile } from '../src/index.ts'
import { writeClusterFile } from '../src/cluster-file.ts'

t.test('cluster.json round-trips, is private, and a broken one is an error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blazar-cluster-file-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  t.equal(await readClusterFile(dir), null, 'a fresh data dir has none')
  const file = { bootstrapVoters: ['a'], members: [{ id: 'a', addresses: ['/ip4/127.0.0.1/tcp/6650/p2p/a'] }] }
  await writeClusterFile(dir, file)
  t.same(await readClusterFile(dir), file)
  t.equal(statSync(join(dir, CLUSTER_FILE)).mode & 0o077, 0, 'only the owner can read it')
  t.match(readFileSync(join(dir, CLUSTER_FILE), 'utf8'), /"members"/)
  writeFileSync(join(dir, CLUSTER_FILE), '{"bootstrapVoters":null}')
  await t.rejects(readClusterFile(dir), /not a cluster file/)
})
