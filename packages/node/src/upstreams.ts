// Connections from this node to other nodes' client protocol, used to forward requests to the
// node that leads a partition or the metadata group ("publish via any node"). One connection
// per peer, opened on first use and replaced after it closes; handles for forwarded producers
// and consumers are allocated per connection. Pushes arriving on a connection go to the
// listener of their consumer handle, and a push permit is given back once the listener has
// passed the push on (so a slow downstream consumer slows its upstream, nothing piles up).
import type { Clock, NodeId } from '@blazar/env'
import { parseClientReply, parseServerPush, type ClientReply, type ClientRequestBody, type ServerPush } from '@blazar/protocol'
import type { ClientDialer, UpstreamConnection } from './node-edges.ts'

/** Push permits granted to each upstream node up front. */
export const UPSTREAM_PUSH_PERMITS = 256
/**
 * A forwarded request not answered within this is abandoned and its connection reset: a node
 * that stopped answering (paused, or gone without a TCP reset) must not hold requests, and the
 * consumers attached through it, forever.
 */
export const FORWARD_TIMEOUT_MS = 10_000

/** The node could not be reached: nothing was sent to it. */
export class UpstreamUnavailableError extends Error {
  readonly node: NodeId
  constructor (node: NodeId, cause: unknown) {
    super(`node ${node} is unreachable: ${String(cause)}`, { cause })
    this.name = 'UpstreamUnavailableError'
    this.node = node
  }
}

export type PushListener = (push: ServerPush) => Promise<void>

export interface Upstream {
  node: NodeId
  connection: UpstreamConnection
  /** Sends a request and validates the reply; rejects on transport failure or after `timeoutMs` (resetting the connection). */
  request (body: ClientRequestBody, timeoutMs?: number): Promise<ClientReply>
  /** A fresh handle for a producer or consumer forwarded on this connection. */
  allocateHandle (): number
  /**
   * Routes pushes for `consumerId` (an upstream handle) to `listener` until `unlisten`; if the
   * connection closes first, `closed` is called once instead.
   */
  listen (consumerId: number, listener: PushListener, closed: () => void): void
  unlisten (consumerId: number): void
}

export class UpstreamPool {
  private readonly dialer: ClientDialer
  private readonly clock: Clock
  private readonly upstreams = new Map<NodeId, Promise<Upstream>>()

  constructor (dialer: ClientDialer, clock: Clock) {
    this.dialer = dialer
    this.clock = clock
  }

  /** The connection to `node`, dialling it if there is none (a closed or failed one is forgotten at once). */
  async get (node: NodeId): Promise<Upstream> {
    let opening = this.upstreams.get(node)
    if (opening === undefined) {
      const dialled = this.open(node)
      const forget = (): void => { if (this.upstreams.get(node) === dialled) this.upstreams.delete(node) }
      dialled.then((upstream) => { upstream.connection.onClose(forget) }, forget)
      this.upstreams.set(node, dialled)
      opening = dialled
    }
    return await opening
  }

  /**
   * `node` went silent (node-level liveness): its connection is reset rather than trusted, so
   * consumers attached through it are told and subscribe again elsewhere.
   */
  peerDown (node: NodeId): void {
    this.upstreams.get(node)?.then((upstream) => {
      if (upstream.connection.open) upstream.connection.abort(new Error(`node ${node} went silent`))
    }, () => {})
  }

  async closeAll (): Promise<void> {
    const all = [...this.upstreams.values()]
    this.upstreams.clear()
    await Promise.all(all.map(async (opening) => { await (await opening.catch(() => undefined))?.connection.close() }))
  }

  private async open (node: NodeId): Promise<Upstream> {
    let connection: UpstreamConnection
    try {
      connection = await this.dialer.connectClient(node)
    } catch (error) {
      throw new UpstreamUnavailableError(node, error)
    }
    const listeners = new Map<number, { push: PushListener, closed: () => void }>()
    let nextHandle = 1
    connection.onClose(() => {
      const lost = [...listeners.values()]
      listeners.clear()
      for (const listener of lost) listener.closed()
    })
    connection.onPush((body) => {
      let push: ServerPush
      try {
        push = parseServerPush(body)
      } catch {
        grantOne(connection)
        return
      }
      const listener = listeners.get(push.type === 'active-consumer-change' || push.type === 'messages' || push.type === 'consumer-closed' ? push.consumerId : -1)
      if (listener === undefined) { grantOne(connection); return }
      listener.push(push).finally(() => { grantOne(connection) })
    })
    connection.grantPermits(UPSTREAM_PUSH_PERMITS)
    return {
      node,
      connection,
      request: async (body, timeoutMs = FORWARD_TIMEOUT_MS) => {
        // The timeout runs on the node's clock (virtual in the simulator), not AbortSignal.timeout.
        const abort = new AbortController()
        const timer = this.clock.setTimer(timeoutMs, () => { abort.abort(new Error(`no answer to a ${body.type} within ${timeoutMs} ms`)) })
        const signal = abort.signal
        try {
          return parseClientReply(await connection.request(body, { signal }), body.type)
        } catch (error) {
          if (signal.aborted && connection.open) connection.abort(new Error(`node ${node} did not answer a ${body.type} within ${timeoutMs} ms`))
          throw error
        } finally {
          this.clock.clearTimer(timer)
        }
      },
      allocateHandle: () => nextHandle++,
      listen: (consumerId, push, closed) => { listeners.set(consumerId, { push, closed }) },
      unlisten: (consumerId) => { listeners.delete(consumerId) }
    }
  }
}

function grantOne (connection: UpstreamConnection): void {
  if (connection.open) connection.grantPermits(1)
}
