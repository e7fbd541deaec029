import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLUSTER_FILE, readClusterFile } from '../src/index.ts'
import { ClusterFileWriter } from '../src/cluster-file.ts'

t.test('cluster.json round-trips, is private, and a broken one is an error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blazar-cluster-file-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  t.equal(await readClusterFile(dir), null, 'a fresh data dir has none')
  const file = { bootstrapVoters: ['a'], members: [{ id: 'a', addresses: ['/ip4/127.0.0.1/tcp/6650/p2p/a'] }] }
  await new ClusterFileWriter(dir).save(file)
  t.same(await readClusterFile(dir), file)
  t.equal(statSync(join(dir, CLUSTER_FILE)).mode & 0o077, 0, 'only the owner can read it')
  t.match(readFileSync(join(dir, CLUSTER_FILE), 'utf8'), /"members"/)
  writeFileSync(join(dir, CLUSTER_FILE), '{"bootstrapVoters":null}')
  await t.rejects(readClusterFile(dir), /not a cluster file/)
})

t.test('membership writes at once all succeed and the last state saved is the one on disk', async (t) => {
  // Two nodes joining within a few ms made two writes overlap on one temp file: one rename
  // failed with ENOENT and that write was lost (issue 15, bug 5).
  const dir = mkdtempSync(join(tmpdir(), 'blazar-cluster-file-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const writer = new ClusterFileWriter(dir)
  const states = Array.from({ length: 8 }, (_, n) => ({
    bootstrapVoters: ['a'],
    members: Array.from({ length: n + 1 }, (_, i) => ({ id: `node-${i}`, addresses: [`/ip4/127.0.0.1/tcp/${7000 + i}`] }))
  }))
  await Promise.all(states.map(async (state) => { await writer.save(state) }))
  t.same(await readClusterFile(dir), states.at(-1), 'the last state saved is on disk')
  t.same(readdirSync(dir), [CLUSTER_FILE], 'no temp file is left behind')
  await writer.save(states[0])
  t.same(await readClusterFile(dir), states[0], 'a save after the burst is written too')
})
