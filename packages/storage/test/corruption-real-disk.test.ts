// The real disk's half of the corruption rule: a byte flipped in the middle of a closed
// segment file (bit rot, not a torn write) is reported on open with its file and offset, and
// the group refuses to serve; nothing is truncated away.
import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeDisk } from '../src/node-disk.ts'
import { LogStore } from '../src/store.ts'
import { entries } from './support/compliance.ts'

const small = { segmentBytes: 2048, sparseIndexBytes: 256 }

t.test('a flipped byte in a closed segment on the real disk is corruption, not a torn tail', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'blazar-rot-'))
  t.teardown(() => { rmSync(root, { recursive: true, force: true }) })
  let store = await LogStore.open(new NodeDisk(root), { settings: small })
  let log = await store.openGroup('orders/p1')
  for (let i = 0; i < 10; i++) {
    log.append(entries(i * 10 + 1, i * 10 + 10, 1, 50))
    await log.sync()
  }
  await store.close()
  const groupDir = join(root, 'groups', readdirSync(join(root, 'groups'))[0] as string)
  const segments = readdirSync(groupDir).filter((name) => name.endsWith('.log')).sort()
  t.ok(segments.length >= 3, `${segments.length} segments`)
  const closed = join(groupDir, segments[1] as string)
  const bytes = readFileSync(closed)
  const middle = bytes.length >> 1
  bytes[middle] = (bytes[middle] as number) ^ 0x08
  writeFileSync(closed, bytes)
  store = await LogStore.open(new NodeDisk(root), { settings: small })
  log = await store.openGroup('orders/p1')
  const report = log.recovered.corruption
  t.ok(report !== null, 'corruption reported')
  t.match(report?.file ?? '', segments[1] as string, 'naming the damaged segment')
  t.ok(report !== null && report.offset <= middle && report.offset > middle - 100, `at the damaged record (offset ${report?.offset}, byte ${middle})`)
  t.equal(statSync(closed).size, bytes.length, 'the segment was not truncated')
  t.ok(readdirSync(groupDir).includes(segments[2] as string), 'later segments were kept')
  await t.rejects(log.read(1, 5, 100), { code: 'GROUP_CORRUPTED' }, 'the group refuses to serve')
  await store.close()
})
