// The production client (@blazar/client) in the node simulation: its transport dials a node
// over a simulated client connection (node-connections.ts) and its timers run on the virtual
// clock. A node's address here is `sim://<id>` (what nodes advertise) or any address ending in
// `/p2p/<id>` (a service URL). Every request the client makes is shown to an observer with
// its outcome, so the workload sees the wire: which batch went where and how each attempt ended.
import { Client, type ClientFaults, type ClientLink, type ClientTransport, type Timers } from '@blazar/client'
import type { NodeId, Random, VirtualClock } from '@blazar/env'
import type { SimClientEnd } from './node-connections.ts'
import type { NodeWorld } from './node-world.ts'

/** Sees each request a simulated client sends to `node`, and the promise of its outcome. */
export type RequestObserver = (node: NodeId, body: unknown, outcome: Promise<unknown>) => void
/** Sees each push `node` sends a simulated client, before the client does. */
export type PushObserver = (node: NodeId, body: unknown) => void

/** The node an address names. */
function simNodeOf (address: string): NodeId {
  const peer = address.lastIndexOf('/p2p/')
  if (peer >= 0) return address.slice(peer + '/p2p/'.length)
  if (address.startsWith('sim://')) return address.slice('sim://'.length)
  throw new RangeError(`${address} is not a simulated node address`)
}

/** A service URL naming simulated node `id` (the client wants a multiaddr ending in /p2p/<PeerId>). */
function simServiceUrl (id: NodeId): string {
  return `/sim/${id}/p2p/${id}`
}

function clockTimers (clock: VirtualClock): Timers {
  return {
    now: () => clock.now(),
    setTimeout: (fn, delayMs) => {
      const handle = clock.setTimer(Math.max(0, delayMs), fn)
      return { cancel: () => { clock.clearTimer(handle) } }
    }
  }
}

/** The production client on `world`: service URLs of every node, the virtual clock, a seeded random. */
export async function createSimClient (world: NodeWorld, options: {
  /** The client's end in the world's connections. */
  name: string
  random: Random
  operationTimeoutMs: number
  observe?: RequestObserver
  observePush?: PushObserver
  faults?: ClientFaults
}): Promise<Client> {
  return await Client.create({
    serviceUrl: world.ids().map(simServiceUrl),
    transport: new SimClientTransport(world, options.name, options.observe ?? (() => {}), options.observePush),
    timers: clockTimers(world.clock),
    random: () => options.random.next(),
    operationTimeoutMs: options.operationTimeoutMs,
    ...(options.faults === undefined ? {} : { faults: options.faults })
  })
}

class SimClientTransport implements ClientTransport {
  private readonly world: NodeWorld
  private readonly name: string
  private readonly observe: RequestObserver
  private readonly observePush: PushObserver

  /** `name` is the client's end in the world's connections (it never crashes). */
  constructor (world: NodeWorld, name: string, observe: RequestObserver, observePush: PushObserver = () => {}) {
    this.world = world
    this.name = name
    this.observe = observe
    this.observePush = observePush
  }

  async connectClient (address: string): Promise<ClientLink> {
    const node = simNodeOf(address)
    return new ObservedLink(node, await this.world.connect({ id: this.name, runtime: null }, node), this.observe, this.observePush)
  }

  async stop (): Promise<void> {}
}

class ObservedLink implements ClientLink {
  readonly peer: string
  private readonly end: SimClientEnd
  private readonly observe: RequestObserver
  private readonly observePush: PushObserver

  constructor (peer: string, end: SimClientEnd, observe: RequestObserver, observePush: PushObserver) {
    this.peer = peer
    this.end = end
    this.observe = observe
    this.observePush = observePush
  }

  get open (): boolean {
    return this.end.open
  }

  request (body: unknown, options?: { signal?: AbortSignal }): Promise<unknown> {
    const outcome = this.end.request(body, options)
    this.observe(this.peer, body, outcome)
    return outcome
  }

  grantPermits (n: number): void {
    this.end.grantPermits(n)
  }

  onPush (listener: (body: unknown) => void): void {
    this.end.onPush((body) => {
      this.observePush(this.peer, body)
      listener(body)
    })
  }

  onClose (listener: (error: Error) => void): void {
    this.end.onClose(listener)
  }

  async close (): Promise<void> {
    await this.end.close()
  }
}

/** A failure's code for the trace (`code/remoteCode` for a remote one). */
export function codeOf (error: unknown): string {
  const { code, remoteCode } = (error ?? {}) as { code?: unknown, remoteCode?: unknown }
  if (typeof remoteCode === 'string') return `${String(code)}/${remoteCode}`
  return typeof code === 'string' ? code : String((error as Error | null)?.message ?? error)
}
