// What the client commands share: where output goes (stdout by default, a collector in tests),
// the --service-url / BLAZAR_SERVICE_URL / .data/cluster/addresses rule, and running one action
// with a connected Client that is always closed, reporting a failure as `error: ...`.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Client } from '@blazar/client'
import type { Command } from 'commander'

/** Written by `blazar local-cluster start`: one node multiaddr per line. */
export const LOCAL_CLUSTER_ADDRESSES = '.data/cluster/addresses'

export interface CommandIO {
  out: (line: string) => void
  err: (line: string) => void
  env: Record<string, string | undefined>
  cwd: string
}

export const processIO: CommandIO = {
  out: (line) => { process.stdout.write(line + '\n') },
  err: (line) => { process.stderr.write(line + '\n') },
  env: process.env,
  cwd: process.cwd()
}

export interface ConnectionFlags {
  serviceUrl?: string[]
  operationTimeoutMs?: number
  json?: boolean
}

/** --service-url, else BLAZAR_SERVICE_URL, else the local cluster's addresses file. */
export function resolveServiceUrl (flags: ConnectionFlags, io: CommandIO): string[] {
  if (flags.serviceUrl !== undefined && flags.serviceUrl.length > 0) return flags.serviceUrl
  const fromEnv = io.env.BLAZAR_SERVICE_URL
  if (fromEnv !== undefined && fromEnv.trim().length > 0) return [fromEnv]
  const file = resolve(io.cwd, LOCAL_CLUSTER_ADDRESSES)
  if (existsSync(file)) {
    const addresses = readFileSync(file, 'utf8').split('\n').map((line) => line.trim()).filter((line) => line.length > 0)
    if (addresses.length > 0) return addresses
  }
  throw new Error(`no node address: pass --service-url, set BLAZAR_SERVICE_URL, or start a local cluster (${LOCAL_CLUSTER_ADDRESSES})`)
}

export function parseInteger (value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${value}`)
  return n
}

/** Adds --service-url, --operation-timeout-ms and --json to a client command. */
export function withConnectionOptions (command: Command): Command {
  return command
    .option('--service-url <multiaddr...>', 'node address(es) ending in /p2p/<PeerId> (default: BLAZAR_SERVICE_URL, else .data/cluster/addresses)')
    .option('--operation-timeout-ms <ms>', 'timeout of lookups, attaches and admin requests', parseInteger)
    .option('--json', 'print JSON, one object per line')
}

/** Runs `action` with a connected client; any failure prints `error: <message>` and sets exit code 1. */
export async function withClient (flags: ConnectionFlags, io: CommandIO, action: (client: Client) => Promise<void>): Promise<void> {
  let client: Client | undefined
  try {
    client = await Client.create({
      serviceUrl: resolveServiceUrl(flags, io),
      ...(flags.operationTimeoutMs === undefined ? {} : { operationTimeoutMs: flags.operationTimeoutMs })
    })
    await action(client)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    io.err(`error: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`)
    process.exitCode = 1
  } finally {
    await client?.close()
  }
}

/** Prints `value` as one JSON line (bytes as base64 would be surprising: callers convert first). */
export function printJson (io: CommandIO, value: unknown): void {
  io.out(JSON.stringify(value))
}

export type Action<A extends unknown[]> = (client: Client, flags: ConnectionFlags, ...args: A) => Promise<void>

/** Wraps an admin action for commander: connects a client with the command's flags, passes the positional arguments. */
export function runner (io: CommandIO) {
  return <A extends unknown[]>(action: Action<A>) => async (...args: [...A, ConnectionFlags, Command]) => {
    const flags = args[args.length - 2] as ConnectionFlags
    const positional = args.slice(0, -2) as A
    await withClient(flags, io, async (client) => { await action(client, flags, ...positional) })
  }
}

/** Aligned text columns with a header line. */
export function table (rows: Array<Record<string, string | number>>): string[] {
  if (rows.length === 0) return []
  const columns = Object.keys(rows[0])
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)))
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()
  return [line(columns), ...rows.map((row) => line(columns.map((column) => String(row[column]))))]
}
