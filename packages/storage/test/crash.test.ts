// Acceptance: kill -9 on the real disk. A child process appends to many groups and syncs in a
// loop, reporting each synced (group, index); the parent SIGKILLs it at random moments, at least
// 200 times, and after every kill reopens the store: everything reported synced must be there
// and intact, and each group's log must be a clean prefix (contiguous, every entry as written).
import t from 'tap'
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { SeededRandom } from '@blazar/env'
import { NodeDisk } from '../src/node-disk.ts'
import { LogStore } from '../src/store.ts'
import { crashEntry, crashSettings } from './support/crash-data.ts'

const KILLS = 200
const GROUPS = 8
/** Chains of worker runs side by side, each on its own store: most of a run waits for process start and fsyncs. */
const CHAINS = 4
const worker = join(import.meta.dirname, 'support', 'crash-worker.ts')

interface Worker {
  go (killAfterMs: number, synced: Map<string, number>): Promise<void>
  stop (): Promise<void>
}

/** Starts a worker process now (loading modules takes most of its start-up) and runs it when told. */
function startWorker (root: string, seed: number): Worker {
  const child = spawn(process.execPath, [worker, root, String(GROUPS), String(seed)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => { child.on('exit', () => resolve()) })
  const lines = createInterface({ input: child.stdout! })
  return {
    async go (killAfterMs, synced) {
      let killTimer: NodeJS.Timeout | undefined
      lines.on('line', (line) => {
        if (line === 'ready') {
          killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
          return
        }
        const [word, group, index] = line.split(' ')
        if (word === 'synced') synced.set(group, Math.max(synced.get(group) ?? 0, Number(index)))
      })
      child.stdin!.write('go\n')
      await exited
      clearTimeout(killTimer)
    },
    async stop () {
      child.kill('SIGKILL')
      await exited
    }
  }
}

/** One chain of worker runs against its own store: kill, reopen and check, `kills` times. */
async function chain (t: Test, seed: number, kills: number): Promise<{ kills: number, failures: number, checkedEntries: number, syncedAppends: number }> {
  const root = await mkdtemp(join(tmpdir(), 'blazar-crash-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const random = new SeededRandom(seed)
  const synced = new Map<string, number>()
  let done = 0
  let failures = 0
  let checkedEntries = 0
  let next = startWorker(root, random.int(0, 2 ** 30))
  while (done < kills) {
    const run = next.go(random.int(5, 80), synced)
    next = startWorker(root, random.int(0, 2 ** 30))
    await run
    done++
    const store = await LogStore.open(new NodeDisk(root), { settings: crashSettings })
    for (let i = 0; i < GROUPS; i++) {
      const group = `crash/p${i}`
      const log = await store.openGroup(group)
      const problems: string[] = []
      if (log.recovered.corruption !== null) problems.push(`corruption ${JSON.stringify(log.recovered.corruption)}`)
      else {
        if (log.lastIndex() < (synced.get(group) ?? 0)) problems.push(`last ${log.lastIndex()} < synced ${synced.get(group)}`)
        const read = await log.read(log.firstIndex(), log.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
        if (read.length !== log.lastIndex() - log.firstIndex() + 1) problems.push(`read ${read.length} entries of ${log.firstIndex()}..${log.lastIndex()}`)
        for (const [k, entry] of read.entries()) {
          const expected = crashEntry(group, log.firstIndex() + k)
          if (entry.index !== expected.index || entry.term !== expected.term || Buffer.compare(entry.data, expected.data) !== 0) {
            problems.push(`entry ${log.firstIndex() + k} differs`)
            break
          }
        }
        checkedEntries += read.length
        const snapshot = await log.loadSnapshot()
        if (snapshot !== null && (snapshot.meta.index !== log.firstIndex() - 1 || snapshot.data[0] !== (snapshot.meta.index & 0xff))) problems.push('snapshot does not match the log')
      }
      if (problems.length > 0) {
        failures++
        t.fail(`chain ${seed}, after kill ${done}, ${group}: ${problems.join('; ')}`)
      }
    }
    await store.close()
  }
  await next.stop()
  return { kills: done, failures, checkedEntries, syncedAppends: [...synced.values()].reduce((a, b) => a + b, 0) }
}

t.test(`kill -9 at random moments (${KILLS} times): everything reported synced survives, intact`, async (t) => {
  const started = Date.now()
  // However long a loaded machine takes: the count of kills is the test, not the time.
  const chains = await Promise.all(Array.from({ length: CHAINS }, (_, i) => chain(t, 20261122 + i + 1, KILLS / CHAINS)))
  const kills = chains.reduce((sum, each) => sum + each.kills, 0)
  t.equal(kills, KILLS, `${kills} kills in ${Math.round((Date.now() - started) / 1000)} s`)
  t.equal(chains.reduce((sum, each) => sum + each.failures, 0), 0, `every reopen clean; ${chains.reduce((sum, each) => sum + each.checkedEntries, 0)} entries checked, ${chains.reduce((sum, each) => sum + each.syncedAppends, 0)} synced appends reported`)
})
