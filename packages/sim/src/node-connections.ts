// Simulated client-protocol connections, in place of libp2p's /blazar/client/1 streams: the
// connections simulated clients open to any node and the ones nodes open to each other to
// forward requests. A connection is ordered and reliable while it lasts, like a TCP stream:
// every frame takes CLIENT_LINK_DELAY_MS and never overtakes an earlier one in its direction;
// frames to a node wait while it is paused. It breaks (both ends see the close) when an end's
// process crashes or when a network cut separates two nodes. The server end is a
// GatewaySession (pushes spend the permits the client granted; beyond MAX_WAITING_PUSHES
// waiting pushes reject); the client end is what the node's UpstreamPool uses.
import type { NodeId, VirtualClock } from '@blazar/env'
import type { GatewaySession, UpstreamConnection } from '@blazar/node/core'
import type { ServerPush } from '@blazar/protocol'
import { RemoteRequestError } from '@blazar/transport'
import type { NodeRuntime } from './node-runtime.ts'

/** One-way latency of a client connection frame, in virtual ms. */
export const CLIENT_LINK_DELAY_MS = 1
/** Pushes waiting for permits on one connection, at most (the transport's clientMaxPendingPushes). */
export const MAX_WAITING_PUSHES = 1024
/** Requests in flight on one connection, at most. */
export const MAX_CONNECTION_REQUESTS = 1024

export class ConnectionClosedError extends Error {
  static readonly code = 'STREAM_CLOSED'
  readonly code = ConnectionClosedError.code
  constructor (reason: string) {
    super(`connection closed: ${reason}`)
    this.name = 'ConnectionClosedError'
  }
}

/** The node answered no request handler yet (its process is still starting). */
export class NoHandlerError extends Error {
  static readonly code = 'NO_HANDLER'
  readonly code = NoHandlerError.code
  constructor (node: NodeId) {
    super(`node ${node} is starting: no client request handler installed`)
    this.name = 'NoHandlerError'
  }
}

/** Where a connection end lives: a node process (paused, crashed) or a client (always up). */
export interface ConnectionEnd {
  id: string
  runtime: NodeRuntime | null
}

/** What a node serves on the server end of its connections (the live incarnation's gateway, or null while starting). */
export type ServeRequest = (session: GatewaySession, body: unknown) => Promise<unknown>

interface Direction {
  lastAt: number
}

export class SimConnection {
  readonly client: SimClientEnd
  readonly server: SimServerEnd
  readonly from: ConnectionEnd
  readonly to: ConnectionEnd
  private readonly clock: VirtualClock
  private readonly fromIncarnation: number
  private readonly toIncarnation: number
  private readonly up: Direction = { lastAt: 0 }
  private readonly down: Direction = { lastAt: 0 }
  closedWith: Error | null = null

  constructor (options: { clock: VirtualClock, from: ConnectionEnd, to: ConnectionEnd, serve: () => ServeRequest | null }) {
    this.clock = options.clock
    this.from = options.from
    this.to = options.to
    this.fromIncarnation = options.from.runtime?.incarnation ?? 0
    this.toIncarnation = options.to.runtime?.incarnation ?? 0
    this.client = new SimClientEnd(this)
    this.server = new SimServerEnd(this, options.to.id, options.from.id, options.serve)
  }

  get open (): boolean {
    return this.closedWith === null
  }

  /** Sends a frame towards the server (`toServer`) or the client; it runs in the receiving process. */
  transmit (toServer: boolean, deliver: () => void): void {
    if (this.closedWith !== null) return
    const direction = toServer ? this.up : this.down
    const end = toServer ? this.to : this.from
    const incarnation = toServer ? this.toIncarnation : this.fromIncarnation
    const at = Math.max(direction.lastAt, this.clock.now() + CLIENT_LINK_DELAY_MS)
    direction.lastAt = at
    this.clock.setTimer(at - this.clock.now(), () => {
      if (this.closedWith !== null) return
      const runtime = end.runtime
      if (runtime === null) { deliver(); return }
      if (runtime.incarnation !== incarnation) return
      runtime.deliver(() => { if (this.closedWith === null && runtime.incarnation === incarnation) deliver() })
    })
  }

  /** Breaks the connection: each end that still runs sees the close (after a link delay for the far end). */
  break (reason: Error, seenAtOnceBy: 'client' | 'server' | 'none' = 'none'): void {
    if (this.closedWith !== null) return
    this.closedWith = reason
    const tell = (end: ConnectionEnd, incarnation: number, close: () => void, atOnce: boolean): void => {
      if (end.runtime !== null && end.runtime.incarnation !== incarnation) return
      if (atOnce) { close(); return }
      this.clock.setTimer(CLIENT_LINK_DELAY_MS, () => {
        const runtime = end.runtime
        if (runtime === null) { close(); return }
        if (runtime.incarnation === incarnation) runtime.deliver(close)
      })
    }
    tell(this.from, this.fromIncarnation, () => { this.client.closed(reason) }, seenAtOnceBy === 'client')
    tell(this.to, this.toIncarnation, () => { this.server.closed(reason) }, seenAtOnceBy === 'server')
  }

  /** Whether `node` is one of the ends. */
  touches (node: string): boolean {
    return this.from.id === node || this.to.id === node
  }
}

interface PendingRequest {
  resolve: (body: unknown) => void
  reject: (error: Error) => void
}

export class SimClientEnd implements UpstreamConnection {
  /** The node at the server end (a node's PeerId is its id in the simulator). */
  readonly peer: string
  private readonly connection: SimConnection
  private readonly pending = new Map<number, PendingRequest>()
  private readonly pushListeners: Array<(body: unknown) => void> = []
  private readonly closeListeners: Array<(error: Error) => void> = []
  private nextId = 0
  private closedWith: Error | null = null

  constructor (connection: SimConnection) {
    this.connection = connection
    this.peer = connection.to.id
  }

  get open (): boolean {
    return this.closedWith === null
  }

  async request (body: unknown, options: { signal?: AbortSignal } = {}): Promise<unknown> {
    if (this.closedWith !== null) throw new ConnectionClosedError(this.closedWith.message)
    options.signal?.throwIfAborted()
    if (this.pending.size >= MAX_CONNECTION_REQUESTS) throw new ConnectionClosedError('too many requests in flight')
    const id = this.nextId++
    return await new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      options.signal?.addEventListener('abort', () => {
        if (this.pending.delete(id)) reject(options.signal?.reason)
      }, { once: true })
      this.connection.transmit(true, () => { this.connection.server.request(id, body) })
    })
  }

  onPush (listener: (body: unknown) => void): void {
    this.pushListeners.push(listener)
  }

  onClose (listener: (error: Error) => void): void {
    if (this.closedWith !== null) listener(this.closedWith)
    else this.closeListeners.push(listener)
  }

  grantPermits (n: number): void {
    if (this.closedWith !== null) throw new ConnectionClosedError(this.closedWith.message)
    this.connection.transmit(true, () => { this.connection.server.grant(n) })
  }

  async close (): Promise<void> {
    this.connection.break(new ConnectionClosedError('closed by the client'), 'client')
  }

  abort (reason: Error): void {
    this.connection.break(reason, 'client')
  }

  /** The server's answer to request `id`. */
  answered (id: number, outcome: { body: unknown } | { error: Error }): void {
    const request = this.pending.get(id)
    if (request === undefined) return
    this.pending.delete(id)
    if ('body' in outcome) request.resolve(outcome.body)
    else request.reject(outcome.error)
  }

  pushed (body: unknown): void {
    for (const listener of this.pushListeners) listener(body)
  }

  closed (error: Error): void {
    if (this.closedWith !== null) return
    this.closedWith = error
    for (const request of this.pending.values()) request.reject(new ConnectionClosedError(error.message))
    this.pending.clear()
    for (const listener of this.closeListeners.splice(0)) listener(error)
  }
}

export class SimServerEnd implements GatewaySession {
  readonly peer: string
  private readonly node: NodeId
  private readonly connection: SimConnection
  private readonly serve: () => ServeRequest | null
  private permits = 0
  private readonly waiting: Array<{ resolve: () => void, reject: (error: Error) => void }> = []
  private readonly closeListeners: Array<(error?: Error) => void> = []
  private closedWith: Error | null = null

  constructor (connection: SimConnection, node: NodeId, peer: string, serve: () => ServeRequest | null) {
    this.connection = connection
    this.node = node
    this.peer = peer
    this.serve = serve
  }

  get open (): boolean {
    return this.closedWith === null
  }

  async push (push: ServerPush): Promise<void> {
    if (this.closedWith !== null) throw new ConnectionClosedError(this.closedWith.message)
    if (this.permits > 0 && this.waiting.length === 0) this.permits--
    else {
      if (this.waiting.length >= MAX_WAITING_PUSHES) throw new ConnectionClosedError('too many pushes waiting for permits')
      await new Promise<void>((resolve, reject) => { this.waiting.push({ resolve, reject }) })
    }
    this.connection.transmit(false, () => { this.connection.client.pushed(push) })
  }

  onClose (listener: (error?: Error) => void): void {
    if (this.closedWith !== null) listener(this.closedWith)
    else this.closeListeners.push(listener)
  }

  request (id: number, body: unknown): void {
    const serve = this.serve()
    const answer = (outcome: { body: unknown } | { error: Error }): void => {
      this.connection.transmit(false, () => { this.connection.client.answered(id, outcome) })
    }
    // A failed handler reaches the client as the transport reports it (client-server.ts): a
    // RemoteRequestError carrying the handler's code.
    const failed = (error: unknown): void => {
      const code = (error as { code?: unknown } | null)?.code
      answer({ error: new RemoteRequestError(typeof code === 'string' ? code : 'HANDLER_ERROR', String((error as Error | null)?.message ?? error)) })
    }
    if (serve === null) {
      failed(new NoHandlerError(this.node))
      return
    }
    serve(this, body).then((reply) => { answer({ body: reply }) }, failed)
  }

  grant (n: number): void {
    this.permits += n
    while (this.permits > 0 && this.waiting.length > 0) {
      this.permits--
      this.waiting.shift()?.resolve()
    }
  }

  closed (error: Error): void {
    if (this.closedWith !== null) return
    this.closedWith = error
    for (const waiter of this.waiting.splice(0)) waiter.reject(new ConnectionClosedError(error.message))
    for (const listener of this.closeListeners.splice(0)) listener(error)
  }
}
