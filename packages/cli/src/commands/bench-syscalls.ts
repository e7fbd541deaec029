// `blazar bench syscalls`: the per-message system calls of a one-at-a-time publish (one send in
// flight, batching off, 100 B, client on the partition leader) on a fresh 3-node cluster: strace
// -c on every node process counts fdatasync, fsync, write and writev during N sends, and the same
// calls per second over an idle window first. Counts do not depend on the machine's load the way
// times do, so this is how a change to the per-round costs (syncs, frames, window updates) is
// compared. Needs strace (Debian package `strace`) and permission to attach to the nodes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { withCluster } from '../bench/blazar-cluster.ts'
import { openBlazarTopic } from '../bench/blazar-target.ts'
import { writeBenchReport, type JsonValue } from '../bench/report.ts'
import type { BenchRegistration } from './bench.ts'

const TRACED = ['fdatasync', 'fsync', 'write', 'writev'] as const
type Traced = typeof TRACED[number]
/** Sends before any counting (connections, caches and the JIT warmed). */
const WARMUP_SENDS = 300
/** How long strace gets to attach before a window starts. */
const ATTACH_MS = 1_000

interface Tracer { child: ChildProcess, file: string }

function attach (pids: readonly number[], dir: string, window: string): Tracer[] {
  return pids.map((pid, i) => {
    const file = join(dir, `${window}-node${i + 1}.txt`)
    const child = spawn('strace', ['-f', '-c', '-e', `trace=${TRACED.join(',')}`, '-o', file, '-p', String(pid)], { stdio: 'ignore' })
    return { child, file }
  })
}

async function detach (tracers: readonly Tracer[]): Promise<void> {
  await Promise.all(tracers.map(async ({ child }) => {
    const exited = new Promise((resolve) => { child.once('exit', resolve) })
    child.kill('SIGINT')
    await exited
  }))
}

/** The call counts of an `strace -c` summary file. */
function callCounts (file: string): Record<Traced, number> {
  const counts: Record<Traced, number> = { fdatasync: 0, fsync: 0, write: 0, writev: 0 }
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/)
    const name = fields.at(-1) as Traced
    // "% time  seconds  usecs/call  calls  [errors]  syscall"
    if (fields.length >= 5 && TRACED.includes(name) && /^\d+$/.test(fields[3] ?? '')) counts[name] = Number(fields[3])
  }
  return counts
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms) })

export const registerSyscallsBench: BenchRegistration = (bench) => {
  bench.command('syscalls')
    .description('system calls per one-at-a-time publish on each node (strace -c), and per second when idle')
    .option('--sends <n>', 'sends counted', '500')
    .option('--idle-seconds <n>', 'length of the idle window', '3')
    .option('--json', 'print the figures as one JSON object on the last line')
    .action(async (options: { sends: string, idleSeconds: string, json?: boolean }) => {
      const sends = Number(options.sends)
      const idleSeconds = Number(options.idleSeconds)
      if (!(Number.isInteger(sends) && sends > 0) || !(idleSeconds > 0)) throw new RangeError('--sends must be a positive integer and --idle-seconds positive')
      if (spawnSync('strace', ['-V']).status !== 0) throw new Error('bench syscalls needs strace (apt-get install strace)')
      const dir = mkdtempSync(join(tmpdir(), 'blazar-syscalls-'))
      const loadBefore = loadavg()
      try {
        await withCluster('syscalls', async (cluster) => {
          const target = await openBlazarTopic(cluster, { name: 'syscalls', partitions: 1, clientOn: 'leader' })
          try {
            const publisher = await target.openPublisher('send', 'one-at-a-time')
            const payload = new Uint8Array(100)
            for (let i = 0; i < WARMUP_SENDS; i++) await publisher.send(payload)
            const idle = attach(cluster.pids, dir, 'idle')
            await sleep(ATTACH_MS + idleSeconds * 1000)
            await detach(idle)
            const busy = attach(cluster.pids, dir, 'busy')
            await sleep(ATTACH_MS)
            const started = performance.now()
            for (let i = 0; i < sends; i++) await publisher.send(payload)
            const seconds = (performance.now() - started) / 1000
            await detach(busy)
            await publisher.close()
            const nodes: JsonValue[] = []
            const summary = [`${sends} one-at-a-time sends of 100 B in ${seconds.toFixed(1)} s, client on the leader (node ${target.leaderNode}); load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} at the start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`]
            for (let i = 0; i < cluster.pids.length; i++) {
              const during = callCounts(busy[i]!.file)
              const quiet = callCounts(idle[i]!.file)
              const perMessage = Object.fromEntries(TRACED.map((call) => [call, Number((during[call] / sends).toFixed(2))]))
              const idlePerSecond = Object.fromEntries(TRACED.map((call) => [call, Number((quiet[call] / (idleSeconds + ATTACH_MS / 1000)).toFixed(1))]))
              nodes.push({ node: i + 1, leader: i + 1 === target.leaderNode, perMessage, idlePerSecond })
              summary.push(`node ${i + 1}${i + 1 === target.leaderNode ? ' (leader)' : ''}: per message ${TRACED.map((call) => `${call} ${perMessage[call]}`).join(', ')}; idle per second ${TRACED.map((call) => `${call} ${idlePerSecond[call]}`).join(', ')}`)
            }
            summary.push('(write counts include libuv\'s 8-byte eventfd writes, two per disk operation)')
            writeBenchReport({
              bench: 'syscalls',
              runs: 1,
              figures: { sends, seconds: Number(seconds.toFixed(3)), messageBytes: 100, idleSeconds, loadAverageAtStart: loadBefore, loadAverageAtEnd: loadavg(), nodes },
              summary
            }, { json: options.json === true })
          } finally {
            await target.close()
          }
        })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
}
