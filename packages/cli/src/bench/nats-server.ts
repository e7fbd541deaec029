// The NATS peer for `bench workloads --peer nats`: finds nats-server (on PATH, or unpacked in
// the checkout's git-ignored .tools/nats), else installs Debian's package there without root
// (`apt-get download` + `dpkg -x`), and runs a 3-node JetStream cluster on 127.0.0.1 (file
// storage, its own temp dir and free ports). Every server started is stopped by its PID and
// the dir removed afterwards, also on failure.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLUSTER_PORTS, freePortBase } from './blazar-cluster.ts'

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..', '..')
const NATS_TOOLS_DIR = join(REPO_ROOT, '.tools', 'nats')
const UNPACKED_BINARY = join(NATS_TOOLS_DIR, 'usr', 'sbin', 'nats-server')
/** Debian's package (bookworm has 2.9.10). */
const DEBIAN_PACKAGE = 'nats-server'
const START_TIMEOUT_MS = 45_000
const STOP_TIMEOUT_MS = 10_000
const CLUSTER_NAME = 'bench'
const SERVER_NAMES = ['n1', 'n2', 'n3'] as const

export interface NatsServer {
  name: string
  /** host:port for clients. */
  clientAddress: string
  pid: number
}

export interface NatsCluster {
  servers: NatsServer[]
  version: string
}

function onPath (command: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' })
  const path = found.stdout.trim()
  return found.status === 0 && path.length > 0 ? path : null
}

/** The nats-server binary, installing Debian's package into .tools/nats when there is none. */
export function natsServerBinary (log: (line: string) => void): string {
  const installed = onPath('nats-server')
  if (installed !== null) return installed
  if (existsSync(UNPACKED_BINARY)) return UNPACKED_BINARY
  log(`nats-server missing: apt-get download ${DEBIAN_PACKAGE} and unpack it into ${NATS_TOOLS_DIR}`)
  const downloads = mkdtempSync(join(tmpdir(), 'blazar-nats-deb-'))
  try {
    const download = spawnSync('apt-get', ['download', DEBIAN_PACKAGE], { cwd: downloads, encoding: 'utf8' })
    if (download.status !== 0) throw new Error(`apt-get download ${DEBIAN_PACKAGE} failed (run apt-get update first?): ${download.stderr.trim()}`)
    const deb = readdirSync(downloads).find((file) => file.endsWith('.deb'))
    if (deb === undefined) throw new Error(`apt-get download ${DEBIAN_PACKAGE} left no .deb`)
    mkdirSync(NATS_TOOLS_DIR, { recursive: true })
    const unpack = spawnSync('dpkg', ['-x', join(downloads, deb), NATS_TOOLS_DIR], { encoding: 'utf8' })
    if (unpack.status !== 0 || !existsSync(UNPACKED_BINARY)) throw new Error(`dpkg -x ${deb} failed: ${unpack.stderr.trim()}`)
  } finally {
    rmSync(downloads, { recursive: true, force: true })
  }
  return UNPACKED_BINARY
}

function serverConfig (name: string, dir: string, ports: { client: number, route: number, monitor: number }, routes: number[]): string {
  return [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${ports.client}`,
    `http: 127.0.0.1:${ports.monitor}`,
    'max_payload: 1MB',
    'jetstream {',
    `  store_dir: "${join(dir, name)}"`,
    '  max_memory_store: 1GB',
    '  max_file_store: 20GB',
    '}',
    'cluster {',
    `  name: ${CLUSTER_NAME}`,
    `  listen: 127.0.0.1:${ports.route}`,
    `  routes: [${routes.map((port) => `nats-route://127.0.0.1:${port}`).join(', ')}]`,
    '}',
    ''
  ].join('\n')
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Waits (bounded) until every server answers /healthz and node 1 sees a JetStream meta leader. */
async function waitReady (monitorPorts: number[], pids: number[], dir: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    try {
      const health = await Promise.all(monitorPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })).ok))
      const jsz = await (await fetch(`http://127.0.0.1:${monitorPorts[0]}/jsz`, { signal: AbortSignal.timeout(1000) })).json() as { meta_cluster?: { leader?: string } }
      if (health.every(Boolean) && (jsz.meta_cluster?.leader ?? '') !== '') return
    } catch {
      // not up yet
    }
    if (!pids.every(alive)) throw new Error(`a nats-server exited; see ${dir}/*.log`)
    if (Date.now() >= deadline) throw new Error(`the NATS cluster was not ready within ${START_TIMEOUT_MS} ms; see ${dir}/*.log`)
    await new Promise((resolve) => { setTimeout(resolve, 200) })
  }
}

async function stopServers (pids: number[]): Promise<void> {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + STOP_TIMEOUT_MS
  for (const pid of pids) {
    while (alive(pid)) {
      if (Date.now() >= deadline) {
        process.kill(pid, 'SIGKILL')
        break
      }
      await new Promise((resolve) => { setTimeout(resolve, 50) })
    }
  }
}

/** A fresh 3-node JetStream cluster for `use`. */
export async function withNatsCluster<T> (binary: string, use: (cluster: NatsCluster) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'blazar-bench-nats-'))
  const base = await freePortBase()
  const ports = SERVER_NAMES.map((_, i) => ({ client: base + i, route: base + 3 + i, monitor: base + 6 + i }))
  if (ports.length * 3 > CLUSTER_PORTS) throw new Error('the NATS cluster needs more ports than freePortBase reserves')
  const pids: number[] = []
  try {
    const servers: NatsServer[] = []
    for (const [i, name] of SERVER_NAMES.entries()) {
      const config = join(dir, `${name}.conf`)
      writeFileSync(config, serverConfig(name, dir, ports[i], ports.map((p) => p.route)))
      const log = openSync(join(dir, `${name}.log`), 'a')
      const child = spawn(binary, ['-c', config], { detached: true, stdio: ['ignore', log, log] })
      child.unref()
      if (child.pid === undefined) throw new Error(`could not start nats-server ${name}`)
      pids.push(child.pid)
      servers.push({ name, clientAddress: `127.0.0.1:${ports[i].client}`, pid: child.pid })
    }
    await waitReady(ports.map((p) => p.monitor), pids, dir)
    const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim()
    return await use({ servers, version })
  } finally {
    await stopServers(pids)
    rmSync(dir, { recursive: true, force: true })
  }
}
