// `blazar local-cluster start|stop`: a 3-node cluster on 127.0.0.1 for trying Blazar out
// (README command 1 runs `start`). `start` launches the nodes (or reuses the running ones),
// waits for the cluster, lets public/default create topics on first use (as a Pulsar
// standalone does), publishes messages through node 2, consumes them through node 3 and
// prints them; the cluster keeps running unless --demo is given.
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Client } from '@blazar/client'
import { DEFAULT_NAMESPACE, DEFAULT_TENANT } from '@blazar/protocol'
import type { Command } from 'commander'
import { hasCluster, localNodes, runningPid, startNode, stopNodes, waitForNode, type LocalNode } from '../local-cluster/node-processes.ts'
import { roundTrip, waitForCluster } from '../local-cluster/round-trip.ts'

const NODE_COUNT = 3
const NODE_START_TIMEOUT_MS = 60_000
const CLUSTER_FORM_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000
/** The local cluster's secret; it only admits nodes on this machine's loopback. */
const LOCAL_SECRET = 'blazar-local-cluster'

interface ClusterFlags { dir: string, basePort: string, httpBasePort: string, pulsarBasePort: string }

export function registerLocalCluster (program: Command): void {
  const local = program.command('local-cluster').description('a 3-node cluster on 127.0.0.1 for trying Blazar out')
  const withFlags = (command: Command): Command => command
    .option('--dir <dir>', 'where the nodes keep data, logs and PID files', '.data/cluster')
    .option('--base-port <port>', 'libp2p port of node 1 (nodes 2 and 3 use the next ones)', '6660')
    .option('--http-base-port <port>', 'HTTP port of node 1', '8080')
    .option('--pulsar-base-port <port>', 'Pulsar protocol port of node 1 (pulsar://127.0.0.1:6650)', '6650')
  withFlags(local.command('start'))
    .description('start the cluster (or reuse it) and run a publish/consume round trip')
    .option('--demo', 'stop the cluster after the round trip')
    .option('--messages <n>', 'messages to publish and consume', '100')
    .action(async (flags: ClusterFlags & { demo?: boolean, messages: string }) => {
      const nodes = nodesOf(flags)
      try {
        const addresses = await startCluster(nodes, resolve(flags.dir))
        const print = (line: string): void => { process.stdout.write(line + '\n') }
        print(`cluster: ${NODE_COUNT} nodes on 127.0.0.1:${nodes[0]?.port}-${nodes.at(-1)?.port}`)
        for (const [i, address] of addresses.entries()) print(`  node${i + 1} ${address}  pulsar://127.0.0.1:${nodes[i]?.pulsarPort}`)
        const count = Number(flags.messages)
        const topic = 'persistent://public/default/demo'
        print(`publishing ${count} messages to ${topic} through node2, consuming them through node3:`)
        const result = await roundTrip({ topic, messages: count, produceVia: addresses[1] as string, consumeVia: addresses[2] as string, print })
        const leaderIndex = addresses.findIndex((address) => result.leader !== null && address.endsWith(result.leader))
        const inOrder = result.consumed.every((entry, i) => entry.id.equals(result.published[i] as typeof entry.id))
        print(`summary: ${result.published.length} published, ${result.consumed.length} consumed, ` +
          `${inOrder ? 'same IDs in the same order' : 'IDs DIFFER from what was published'}; partition leader: ${leaderIndex >= 0 ? `node${leaderIndex + 1}` : 'unknown'}`)
        if (!inOrder) process.exitCode = 1
        if (flags.demo === true) {
          await stopNodes(nodes, STOP_TIMEOUT_MS)
          print('cluster stopped (--demo)')
        } else {
          print(`the cluster keeps running (data and logs in ${flags.dir}); stop it with: scripts/blazar local-cluster stop`)
        }
      } catch (error) {
        process.stderr.write(`local-cluster: ${(error as Error).message}\n`)
        if (flags.demo === true) await stopNodes(nodes, STOP_TIMEOUT_MS)
        process.exitCode = 1
      }
    })
  withFlags(local.command('stop'))
    .description('stop the nodes this command started (by their recorded PIDs)')
    .action(async (flags: ClusterFlags) => {
      const stopped = await stopNodes(nodesOf(flags), STOP_TIMEOUT_MS)
      process.stdout.write(stopped.length === 0 ? 'no local cluster is running\n' : `stopped ${stopped.length} nodes (PIDs ${stopped.join(', ')})\n`)
    })
}

function nodesOf (flags: ClusterFlags): LocalNode[] {
  return localNodes(resolve(flags.dir), NODE_COUNT, { base: Number(flags.basePort), http: Number(flags.httpBasePort), pulsar: Number(flags.pulsarBasePort) })
}

/** Starts every node that is not running (node 1 first: it creates the cluster the others join); answers their addresses. */
async function startCluster (nodes: LocalNode[], dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const [first, ...others] = nodes as [LocalNode, ...LocalNode[]]
  const electionTimeoutMs = 1000
  if (await runningPid(first) === null) await startNode(first, { init: !hasCluster(first), join: null, secret: LOCAL_SECRET, electionTimeoutMs })
  const firstAddress = await waitForNode(first, NODE_START_TIMEOUT_MS)
  for (const node of others) {
    if (await runningPid(node) !== null) continue
    await startNode(node, { init: false, join: hasCluster(node) ? null : firstAddress, secret: LOCAL_SECRET, electionTimeoutMs })
  }
  const addresses = [firstAddress]
  for (const node of others) addresses.push(await waitForNode(node, NODE_START_TIMEOUT_MS))
  await writeFile(join(dir, 'addresses'), addresses.join('\n') + '\n')
  await waitForCluster(firstAddress, nodes.length, CLUSTER_FORM_TIMEOUT_MS)
  await allowAutoTopicCreation(addresses)
  return addresses
}

/**
 * A cluster for trying Blazar out behaves as a Pulsar standalone does: producing to or
 * subscribing on a topic that does not exist yet creates it in public/default (Pulsar's
 * allowAutoTopicCreation default), so Pulsar clients' examples work as written.
 */
async function allowAutoTopicCreation (addresses: string[]): Promise<void> {
  const client = await Client.create({ serviceUrl: addresses })
  try {
    await client.admin.namespaces.setPolicies(`${DEFAULT_TENANT}/${DEFAULT_NAMESPACE}`, { autoTopicCreation: true })
  } finally {
    await client.close()
  }
}
