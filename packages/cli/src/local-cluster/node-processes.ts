// The processes of a local cluster: each node is `blazar node start` in its own detached
// process (it keeps running after the command that started it exits), with its data, log and
// PID file under the cluster folder. Only PIDs recorded there are ever signalled.
import { spawn } from 'node:child_process'
import { existsSync, openSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI_MAIN = fileURLToPath(new URL('../main.ts', import.meta.url))

export interface LocalNode {
  index: number
  dir: string
  /** libp2p port. */
  port: number
  httpPort: number
  /** Pulsar binary protocol port. */
  pulsarPort: number
  /** The address it listens on and serves HTTP at (default 127.0.0.1). */
  host?: string
  /** A network namespace (`ip netns`) to run the process in, for tests that cut its network. */
  netns?: string
}

function hostOf (node: LocalNode): string {
  return node.host ?? '127.0.0.1'
}

export interface LocalPorts {
  /** libp2p port of node 1; node i uses base + i - 1, and likewise for the others. */
  base: number
  http: number
  pulsar: number
}

export function localNodes (clusterDir: string, count: number, ports: LocalPorts): LocalNode[] {
  return Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    dir: join(clusterDir, `node${i + 1}`),
    port: ports.base + i,
    httpPort: ports.http + i,
    pulsarPort: ports.pulsar + i
  }))
}

export function pidFile (node: LocalNode): string {
  return `${node.dir}.pid`
}

/** The PID recorded for `node` if that process is alive. */
export async function runningPid (node: LocalNode): Promise<number | null> {
  let pid: number
  try {
    pid = Number((await readFile(pidFile(node), 'utf8')).trim())
  } catch {
    return null
  }
  if (!Number.isInteger(pid) || pid <= 0) return null
  try {
    process.kill(pid, 0)
  } catch {
    return null
  }
  // A recycled PID must not be mistaken for our node: on Linux, check the command line names its data dir.
  try {
    const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8')
    if (!commandLine.includes(node.dir)) return null
  } catch {
    // no /proc here: trust the PID file
  }
  return pid
}

/**
 * Starts `node` detached; `join` is the first node's address for a node with a fresh data dir.
 * `nodeArgs` are options for Node.js itself (before the script), e.g. `--cpu-prof`.
 */
export async function startNode (node: LocalNode, options: { init: boolean, join: string | null, secret: string, electionTimeoutMs: number, nodeArgs?: readonly string[] }): Promise<number> {
  await mkdir(node.dir, { recursive: true })
  await rm(join(node.dir, 'addresses'), { force: true })
  const args = [
    ...(options.nodeArgs ?? []),
    CLI_MAIN, 'node', 'start',
    '--data-dir', node.dir,
    '--listen', `/ip4/${hostOf(node)}/tcp/${node.port}`,
    '--http-host', hostOf(node),
    '--http-port', String(node.httpPort),
    '--pulsar-host', hostOf(node),
    '--pulsar-port', String(node.pulsarPort),
    '--name', `node${node.index}`,
    '--cluster-secret', options.secret,
    '--election-timeout-ms', String(options.electionTimeoutMs)
  ]
  if (options.init) args.push('--init')
  if (options.join !== null) args.push('--join', options.join)
  const log = openSync(`${node.dir}.log`, 'a')
  // `ip netns exec` execs the command in place, so the PID recorded is the node's own.
  const [command, commandArgs] = node.netns === undefined ? [process.execPath, args] : ['ip', ['netns', 'exec', node.netns, process.execPath, ...args]]
  const child = spawn(command, commandArgs, { detached: true, stdio: ['ignore', log, log] })
  child.unref()
  if (child.pid === undefined) throw new Error(`could not start node${node.index}`)
  await writeFile(pidFile(node), `${child.pid}\n`)
  return child.pid
}

/** Whether the node's data dir already holds a cluster (so it restarts without --init/--join). */
export function hasCluster (node: LocalNode): boolean {
  return existsSync(join(node.dir, 'cluster.json'))
}

/** Waits (bounded) until the node has written its address file and answers /health. */
export async function waitForNode (node: LocalNode, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const address = (await readFile(join(node.dir, 'addresses'), 'utf8')).trim().split('\n')[0]
      const health = await fetch(`http://${hostOf(node)}:${node.httpPort}/health`, { signal: AbortSignal.timeout(1000) })
      if (address !== undefined && address.length > 0 && health.ok) return address
    } catch {
      // not up yet
    }
    if (await runningPid(node) === null) throw new Error(`node${node.index} exited; the end of ${node.dir}.log:\n${await logTail(node)}`)
    if (Date.now() >= deadline) throw new Error(`node${node.index} did not come up within ${timeoutMs} ms; the end of ${node.dir}.log:\n${await logTail(node)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Lines of a node's log shown when it fails to come up (the log itself goes with the test's temp dir). */
const LOG_TAIL_LINES = 30

async function logTail (node: LocalNode): Promise<string> {
  try {
    return (await readFile(`${node.dir}.log`, 'utf8')).trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n')
  } catch (error) {
    return `(no log: ${(error as Error).message})`
  }
}

/** SIGTERM to every recorded, living node process, then waits (bounded) for them to exit. */
export async function stopNodes (nodes: LocalNode[], timeoutMs: number): Promise<number[]> {
  const stopped: number[] = []
  for (const node of nodes) {
    const pid = await runningPid(node)
    if (pid === null) continue
    process.kill(pid, 'SIGTERM')
    stopped.push(pid)
  }
  const deadline = Date.now() + timeoutMs
  for (const node of nodes) {
    while (await runningPid(node) !== null) {
      if (Date.now() >= deadline) {
        const pid = await runningPid(node)
        if (pid !== null) process.kill(pid, 'SIGKILL')
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await rm(pidFile(node), { force: true })
  }
  return stopped
}
