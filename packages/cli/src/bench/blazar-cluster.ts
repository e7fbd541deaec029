// A throwaway 3-node Blazar cluster for a bench: node processes (`blazar node start`, as
// scripts/start runs them) in a temp dir on free ports, node 1 with --init and the others
// joining it; every node started is stopped by PID and the dir removed afterwards, also on
// failure.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { localNodes, runningPid, startNode, stopNodes, waitForNode, type LocalNode } from '../local-cluster/node-processes.ts'
import { waitForCluster } from '../local-cluster/round-trip.ts'

const SECRET = 'bench-cluster-secret'
/** The node's own default (config.ts); the benches measure the broker as shipped. */
export const ELECTION_TIMEOUT_MS = 1000
const START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000
/** Ports a cluster takes: libp2p, HTTP and Pulsar for each of 3 nodes. */
export const CLUSTER_PORTS = 9

export interface BenchCluster {
  nodes: LocalNode[]
  /** Each node's libp2p address (with /p2p/<PeerId>), in node order. */
  addresses: string[]
  pids: number[]
}

/** Whether `port` can be bound on 127.0.0.1 now. */
async function portFree (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

/** A base with CLUSTER_PORTS consecutive free ports, above the test fixtures' range. */
export async function freePortBase (): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 52_000 + Math.floor(Math.random() * 850) * CLUSTER_PORTS
    const ports = Array.from({ length: CLUSTER_PORTS }, (_, i) => base + i)
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base
  }
  throw new Error(`no ${CLUSTER_PORTS} consecutive free ports found in 52000-59650`)
}

async function startCluster (nodes: LocalNode[], nodeArgs: readonly string[]): Promise<BenchCluster> {
  const [first, ...others] = nodes
  const settings = { secret: SECRET, electionTimeoutMs: ELECTION_TIMEOUT_MS, nodeArgs }
  await startNode(first, { ...settings, init: true, join: null })
  const addresses = [await waitForNode(first, START_TIMEOUT_MS)]
  for (const node of others) await startNode(node, { ...settings, init: false, join: addresses[0] })
  for (const node of others) addresses.push(await waitForNode(node, START_TIMEOUT_MS))
  await waitForCluster(addresses[0], nodes.length, START_TIMEOUT_MS)
  const pids: number[] = []
  for (const node of nodes) {
    const pid = await runningPid(node)
    if (pid === null) throw new Error(`node${node.index} exited; see ${node.dir}.log`)
    pids.push(pid)
  }
  return { nodes, addresses, pids }
}

/**
 * A fresh 3-node cluster for `use`. `nodeArgs` go to each node's Node.js (e.g. `--cpu-prof`;
 * the nodes exit normally on SIGTERM, so profiles are written).
 */
export async function withCluster<T> (label: string, use: (cluster: BenchCluster) => Promise<T>, nodeArgs: readonly string[] = []): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `blazar-bench-${label}-`))
  const base = await freePortBase()
  const nodes = localNodes(dir, 3, { base, http: base + 3, pulsar: base + 6 })
  try {
    return await use(await startCluster(nodes, nodeArgs))
  } finally {
    await stopNodes(nodes, STOP_TIMEOUT_MS)
    rmSync(dir, { recursive: true, force: true })
  }
}
