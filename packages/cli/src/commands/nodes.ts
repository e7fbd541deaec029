// `blazar nodes list|drain|undrain|remove`: day-two operations on nodes over the client's admin
// API. A node is named by its PeerId or by a prefix or suffix of it that only it has. `list`
// shows each node's state, zone, replicas, leaderships and the replica moves in flight; `drain
// --wait` prints the drain's progress until no replica is left on the node.
import type { ClusterStatus } from '@blazar/client'
import type { Command } from 'commander'
import { parseInteger, printJson, processIO, runner, table, withConnectionOptions, type CommandIO, type ConnectionFlags } from './client-io.ts'

/** How often `nodes drain --wait` polls the cluster status. */
export const DRAIN_POLL_MS = 1000
/** How long `nodes drain --wait` waits by default. */
export const DRAIN_WAIT_TIMEOUT_MS = 600_000
const METADATA_GROUP = 'meta'

export interface NodeRow {
  id: string
  state: string
  zone: string
  replicas: number
  leaders: number
  movingOff: number
  movingOn: number
}

/** One row per node: partition replicas and leaderships it holds (the metadata group aside) and moves in flight. */
export function nodeRows (status: ClusterStatus): NodeRow[] {
  const partitions = status.groups.filter((row) => row.group !== METADATA_GROUP)
  const moves = status.moves ?? []
  return status.nodes.map((node) => ({
    id: node.id,
    state: node.state,
    zone: node.zone ?? '-',
    replicas: partitions.filter((row) => row.node === node.id).length,
    leaders: partitions.filter((row) => row.node === node.id && row.role === 'leader').length,
    movingOff: moves.filter((move) => move.from === node.id).length,
    movingOn: moves.filter((move) => move.to === node.id).length
  }))
}

/** The node `name` designates: its PeerId, or a prefix or suffix of it no other node shares. */
export function resolveNode (status: ClusterStatus, name: string): string {
  const exact = status.nodes.find((node) => node.id === name)
  if (exact !== undefined) return exact.id
  const matches = status.nodes.filter((node) => node.id.startsWith(name) || node.id.endsWith(name))
  if (matches.length === 1) return (matches[0] as { id: string }).id
  throw new Error(matches.length === 0 ? `no node ${name} in the cluster` : `${name} names ${matches.length} nodes; give more of the PeerId`)
}

interface DrainFlags extends ConnectionFlags {
  wait?: boolean
  timeoutMs?: number
}

export function registerNodes (program: Command, io: CommandIO = processIO): void {
  const nodes = program.command('nodes').description('list, drain, return to service and remove nodes')
  const run = runner(io)
  withConnectionOptions(nodes.command('list')).description('each node: state, zone, replicas, leaders, moves in flight')
    .action(run(async (client, flags) => {
      const rows = nodeRows(await client.admin.cluster.status())
      if (flags.json === true) { printJson(io, rows); return }
      for (const line of table(rows.map((row) => ({ ...row })))) io.out(line)
    }))
  withConnectionOptions(nodes.command('drain <node>'))
    .description('move every replica and leadership off the node (it stays a member)')
    .option('--wait', 'print progress until no replica is left on the node')
    .option('--timeout-ms <ms>', `how long --wait waits (default ${DRAIN_WAIT_TIMEOUT_MS})`, parseInteger)
    .action(run(async (client, connection, name: string) => {
      const flags = connection as DrainFlags
      const id = resolveNode(await client.admin.cluster.status(), name)
      await client.admin.nodes.setState(id, 'draining')
      io.out(`${id}: draining`)
      if (flags.wait !== true) return
      const deadline = Date.now() + (flags.timeoutMs ?? DRAIN_WAIT_TIMEOUT_MS)
      for (;;) {
        const row = nodeRows(await client.admin.cluster.status()).find((candidate) => candidate.id === id)
        const left = row === undefined ? 0 : row.replicas + row.movingOn
        if (flags.json === true) printJson(io, { node: id, replicas: row?.replicas ?? 0, moving: row?.movingOff ?? 0 })
        else io.out(`${id}: ${row?.replicas ?? 0} replica(s) left, ${row?.movingOff ?? 0} moving off`)
        if (left === 0) return
        if (Date.now() >= deadline) throw new Error(`${id} still holds ${left} replica(s) after the drain timeout`)
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS))
      }
    }))
  withConnectionOptions(nodes.command('undrain <node>')).description('return a draining node to service')
    .action(run(async (client, _flags, name: string) => {
      const id = resolveNode(await client.admin.cluster.status(), name)
      await client.admin.nodes.setState(id, 'active')
      io.out(`${id}: active`)
    }))
  withConnectionOptions(nodes.command('remove <node>'))
    .description('remove the node from the cluster (refused while it hosts replicas or is a needed metadata voter)')
    .option('--force', 'remove it anyway: its replicas are then re-replicated like a dead node\'s')
    .action(run(async (client, connection, name: string) => {
      const flags = connection as ConnectionFlags & { force?: boolean }
      const id = resolveNode(await client.admin.cluster.status(), name)
      await client.admin.nodes.remove(id, { force: flags.force === true })
      io.out(`${id}: removed`)
    }))
}
