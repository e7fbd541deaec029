// One connection per node: the bootstrap nodes from `serviceUrl` and the partition leaders the
// client dialled directly after a lookup. It turns a reply into a typed result or a typed
// error, routes every server push to the client, grants transport push permits as pushes are
// read, and reports a connection that closed (its close event).
import {
  TimeoutError, errorFromWire, parseClientReply, parseServerPush,
  type ClientRequestBody, type ClientRequestType, type ClientResult, type ServerPush
} from '@blazar/protocol'
import type { ClientLink, ClientTransport } from './client-transport.ts'
import { ConnectionFailedError } from './errors.ts'
import { timeoutSignal, type Timers } from './timers.ts'

/** Transport push permits granted per connection up front; topped up once half are spent. */
export const PUSH_PERMIT_WINDOW = 256
/** After a failed dial, a leader's node is not dialled again for this long (its traffic is forwarded meanwhile). */
export const UNREACHABLE_BACKOFF_MS = 5_000
/** Most connections the pool holds (bootstrap nodes plus leaders). */
export const MAX_CONNECTIONS = 1_024

export type RequestBody<K extends ClientRequestType> = Extract<ClientRequestBody, { type: K }>

export interface ConnectionPoolOptions {
  transport: ClientTransport
  bootstrap: readonly string[]
  timers: Timers
  onPush: (peer: string, push: ServerPush) => void
  onConnectionLost: (peer: string) => void
}

export class ConnectionPool {
  private readonly options: ConnectionPoolOptions
  private readonly connections = new Map<string, ClientLink>()
  private readonly dialing = new Map<string, Promise<ClientLink>>()
  private readonly unreachableUntil = new Map<string, number>()
  private readonly spentPushes = new Map<string, number>()
  private closed = false

  constructor (options: ConnectionPoolOptions) {
    this.options = options
  }

  /** Connects to every bootstrap address; resolves once at least one is connected. */
  async start (): Promise<void> {
    const results = await Promise.allSettled(this.options.bootstrap.map((address) => this.dial(address)))
    if (results.some((result) => result.status === 'fulfilled')) return
    const reason = results.map((result) => result.status === 'rejected' ? String((result.reason as Error).message ?? result.reason) : '').join('; ')
    throw new ConnectionFailedError({ addresses: this.options.bootstrap.length, reason: reason.slice(0, 4000) })
  }

  /** An open connection: any connected node, else a bootstrap node dialled again. */
  async any (): Promise<ClientLink> {
    for (const connection of this.connections.values()) if (connection.open) return connection
    let lastError: unknown = new ConnectionFailedError({ addresses: 0, reason: 'no service URL' })
    for (const address of this.options.bootstrap) {
      try {
        return await this.dial(address)
      } catch (error) {
        lastError = error
      }
    }
    throw lastError
  }

  /**
   * The connection to `peer` (a partition leader), dialling `addresses` if needed; null when
   * it cannot be reached now (the caller then goes through any node, which forwards).
   */
  async toPeer (peer: string, addresses: readonly string[]): Promise<ClientLink | null> {
    const existing = this.connections.get(peer)
    if (existing?.open === true) return existing
    if ((this.unreachableUntil.get(peer) ?? 0) > this.options.timers.now() || addresses.length === 0) return null
    for (const address of addresses) {
      try {
        return await this.dial(address.includes('/p2p/') ? address : `${address}/p2p/${peer}`)
      } catch { /* try the next address */ }
    }
    this.unreachableUntil.set(peer, this.options.timers.now() + UNREACHABLE_BACKOFF_MS)
    return null
  }

  /** Sends one request and returns its validated result; a broker error is thrown as its typed class. */
  async request<K extends ClientRequestType> (connection: ClientLink, body: RequestBody<K>, timeoutMs: number): Promise<ClientResult<K>> {
    const timeout = timeoutSignal(this.options.timers, timeoutMs, () => new TimeoutError({ operation: body.type, timeoutMs }))
    let raw: unknown
    try {
      raw = await connection.request(body, { signal: timeout.signal })
    } catch (error) {
      if (!connection.open) this.lost(connection.peer)
      throw error
    } finally {
      timeout.cancel()
    }
    const reply = parseClientReply(raw, body.type as K)
    if (!reply.ok) throw errorFromWire(reply.error)
    return reply.result as ClientResult<K>
  }

  /** PeerIds of the open connections. */
  peers (): string[] {
    return [...this.connections.keys()]
  }

  async close (): Promise<void> {
    this.closed = true
    const connections = [...this.connections.values()]
    this.connections.clear()
    await Promise.all(connections.map((connection) => connection.close()))
  }

  private async dial (address: string): Promise<ClientLink> {
    const pending = this.dialing.get(address)
    if (pending !== undefined) return await pending
    const dialing = this.connect(address)
    this.dialing.set(address, dialing)
    try {
      return await dialing
    } finally {
      this.dialing.delete(address)
    }
  }

  private async connect (address: string): Promise<ClientLink> {
    if (this.connections.size >= MAX_CONNECTIONS) {
      throw new ConnectionFailedError({ addresses: 1, reason: `the pool already holds ${MAX_CONNECTIONS} connections` })
    }
    const connection = await this.options.transport.connectClient(address)
    const existing = this.connections.get(connection.peer)
    if (existing?.open === true) {
      await connection.close()
      return existing
    }
    if (existing !== undefined) this.lost(connection.peer)
    if (this.closed) {
      await connection.close()
      throw new ConnectionFailedError({ addresses: 1, reason: 'client closed' })
    }
    this.connections.set(connection.peer, connection)
    this.unreachableUntil.delete(connection.peer)
    this.spentPushes.set(connection.peer, 0)
    connection.onPush((body) => { this.received(connection, body) })
    connection.grantPermits(PUSH_PERMIT_WINDOW)
    connection.onClose(() => { this.lost(connection.peer) })
    return connection
  }

  private received (connection: ClientLink, body: unknown): void {
    const spent = (this.spentPushes.get(connection.peer) ?? 0) + 1
    if (spent >= PUSH_PERMIT_WINDOW / 2 && connection.open) {
      connection.grantPermits(spent)
      this.spentPushes.set(connection.peer, 0)
    } else {
      this.spentPushes.set(connection.peer, spent)
    }
    let push: ServerPush
    try {
      push = parseServerPush(body)
    } catch {
      return // a push this build cannot read is dropped; its consumer recovers on redelivery
    }
    this.options.onPush(connection.peer, push)
  }

  private lost (peer: string): void {
    const connection = this.connections.get(peer)
    if (connection === undefined || connection.open) return
    this.connections.delete(peer)
    this.spentPushes.delete(peer)
    this.options.onConnectionLost(peer)
  }
}
