// Test fixture: a Blazar cluster (3 nodes unless asked) of real processes (`blazar node start`, the same code
// path as scripts/start) in a temp dir on loopback ports derived from this process's PID, or
// each in its own network namespace (`placement`, see net-namespaces.ts), with kill -9, pause
// and restart of one node. Every process it starts is stopped at teardown, by PID.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  hasCluster, localNodes, runningPid, startNode, stopNodes, waitForNode, type LocalNode
} from '../../packages/cli/src/local-cluster/node-processes.ts'
import { waitForCluster } from '../../packages/cli/src/local-cluster/round-trip.ts'
import { Client } from '@blazar/client'
import type { NodeNetwork } from './net-namespaces.ts'

const SECRET = 'test-cluster-secret'
const START_TIMEOUT_MS = 30_000
/** The test clusters' election timeout (the node setting electionTimeoutMs). */
export const ELECTION_TIMEOUT_MS = 500
/** Ports inside a node's own network namespace (nothing else listens there). */
const NAMESPACED_PORT = 6660
const NAMESPACED_HTTP_PORT = 8080
const NAMESPACED_PULSAR_PORT = 6650

export interface TestCluster {
  dir: string
  nodes: LocalNode[]
  addresses: string[]
  /** The node whose address ends with `peerId`. */
  indexOf (peerId: string): number
  kill9 (index: number): Promise<void>
  /** SIGSTOP / SIGCONT: the process stops answering without closing its sockets. */
  pause (index: number): Promise<void>
  resume (index: number): Promise<void>
  restart (index: number): Promise<void>
  /** Starts spare node `index` (never started before) joining the cluster; resolves to its address. */
  join (index: number): Promise<string>
  stop (): Promise<void>
}

/**
 * Each test cluster takes a block of PORT_BLOCK loopback ports (libp2p base+0..4, Pulsar +5..9,
 * HTTP +10..14, up to 5 nodes) between PORT_FLOOR and PORT_CEILING: below Linux's ephemeral range
 * (32768–60999), so no outgoing connection of a concurrently running test can hold one. The first
 * block tried is derived from the PID (concurrent test files start apart); a block with any port
 * already bound is skipped.
 */
const PORT_BLOCK = 20
const PORT_FLOOR = 10_000
const PORT_CEILING = 32_000
const PORT_BLOCKS = Math.floor((PORT_CEILING - PORT_FLOOR) / PORT_BLOCK)

async function freePortBlock (): Promise<number> {
  for (let attempt = 0; attempt < PORT_BLOCKS; attempt++) {
    const base = PORT_FLOOR + ((process.pid + attempt * 7) % PORT_BLOCKS) * PORT_BLOCK
    let free = true
    for (let port = base; port < base + PORT_BLOCK && free; port++) free = await canBind(port)
    if (free) return base
  }
  throw new Error(`no free block of ${PORT_BLOCK} ports between ${PORT_FLOOR} and ${PORT_CEILING}`)
}

function canBind (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

/** Node PIDs started by this test process: killed when it exits, whatever ended it early. */
const started = new Set<number>()
process.on('exit', () => {
  for (const pid of started) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
})

async function launch (node: LocalNode, options: Parameters<typeof startNode>[1]): Promise<void> {
  started.add(await startNode(node, options))
}

/**
 * `placement`, when given, puts node i in `placement[i]`'s namespace at its host (one entry per
 * node). `spare` more nodes are laid out (ports, data dirs) but not started: `join` starts one
 * as a new member (at most 5 nodes in all, the port block's room).
 */
export async function startTestCluster (label: string, count = 3, placement?: readonly NodeNetwork[], spare = 0): Promise<TestCluster> {
  if (placement !== undefined && placement.length !== count) throw new Error(`placement has ${placement.length} entries for ${count} nodes`)
  if (count + spare > 5) throw new Error(`${count + spare} nodes do not fit a block of ${PORT_BLOCK} ports`)
  const dir = mkdtempSync(join(tmpdir(), `blazar-${label}-`))
  const base = await freePortBlock()
  const nodes = localNodes(dir, count + spare, { base, http: base + 10, pulsar: base + 5 }).map((node, i) => {
    const network = placement?.[i]
    return network === undefined ? node : { ...node, ...network, port: NAMESPACED_PORT, httpPort: NAMESPACED_HTTP_PORT, pulsarPort: NAMESPACED_PULSAR_PORT }
  })
  const options = (node: LocalNode, join: string | null) => ({ init: node.index === 1 && !hasCluster(node), join, secret: SECRET, electionTimeoutMs: ELECTION_TIMEOUT_MS })
  const [first, ...others] = nodes.slice(0, count) as [LocalNode, ...LocalNode[]]
  const addresses: string[] = []
  try {
    await launch(first, options(first, null))
    addresses.push(await waitForNode(first, START_TIMEOUT_MS))
    for (const node of others) await launch(node, options(node, addresses[0] as string))
    for (const node of others) addresses.push(await waitForNode(node, START_TIMEOUT_MS))
    await waitForCluster(addresses[0] as string, count, START_TIMEOUT_MS)
  } catch (error) {
    // The caller gets no cluster to stop: stop what was started here.
    await stopAll(nodes)
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    dir,
    nodes,
    addresses,
    indexOf: (peerId) => addresses.findIndex((address) => address.endsWith(`/p2p/${peerId}`)),
    kill9: async (index) => {
      const node = nodes[index] as LocalNode
      const pid = await runningPid(node)
      if (pid === null) throw new Error(`node${node.index} is not running`)
      process.kill(pid, 'SIGKILL')
      started.delete(pid)
      while (await runningPid(node) !== null) await new Promise((resolve) => setTimeout(resolve, 20))
    },
    pause: async (index) => { await signal(nodes[index] as LocalNode, 'SIGSTOP') },
    resume: async (index) => { await signal(nodes[index] as LocalNode, 'SIGCONT') },
    restart: async (index) => {
      const node = nodes[index] as LocalNode
      await launch(node, options(node, null))
      await waitForNode(node, START_TIMEOUT_MS)
    },
    join: async (index) => {
      if (index !== addresses.length || index >= nodes.length) throw new Error(`node ${index} is no spare to start next`)
      const node = nodes[index] as LocalNode
      await launch(node, options(node, addresses[0] as string))
      addresses.push(await waitForNode(node, START_TIMEOUT_MS))
      return addresses[index] as string
    },
    stop: async () => {
      await stopAll(nodes)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

async function stopAll (nodes: LocalNode[]): Promise<void> {
  for (const pid of await stopNodes(nodes, 15_000)) started.delete(pid)
}

async function signal (node: LocalNode, name: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
  const pid = await runningPid(node)
  if (pid === null) throw new Error(`node${node.index} is not running`)
  process.kill(pid, name)
}

/**
 * A test cluster with one non-partitioned topic whose partition has elected (a warm-up message
 * is committed), an admin client, and the index of the partition's leader. The caller stops
 * both (`cluster.stop`, `admin.close`).
 */
export async function startClusterWithTopic (label: string, topic: string): Promise<{ cluster: TestCluster, admin: Client, leader: number }> {
  const cluster = await startTestCluster(label)
  const admin = await Client.create({ serviceUrl: cluster.addresses })
  await admin.admin.topics.create(topic, 0)
  const warm = await admin.createProducer({ topic })
  await warm.send({ data: new TextEncoder().encode('warm-up') })
  await warm.close()
  const leader = cluster.indexOf((await admin.admin.topics.lookup(topic)).leaders[0]?.leader ?? '')
  return { cluster, admin, leader }
}
