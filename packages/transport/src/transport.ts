// The node's libp2p endpoint: TCP + Noise + Yamux, the persisted identity, and the three
// protocols (raft, client, join) wired to their handlers, the allowlist and the counters.
// One Transport per process; its PeerId string is the node's NodeId.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { silentLogger } from '@blazar/env'
import type { Clock, Logger, NodeId, Random } from '@blazar/env'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { GroupAddressed } from './body-codec.ts'
import { ClientConnection } from './client-connection.ts'
import { ClientSession } from './client-server.ts'
import type { ClientRequestHandler } from './client-server.ts'
import { TransportCounters } from './counters.ts'
import type { CounterSnapshot } from './counters.ts'
import { TransportStoppedError } from './errors.ts'
import { ephemeralIdentity, loadOrCreateIdentity } from './identity.ts'
import { requestJoin, serveJoin } from './join-protocol.ts'
import type { JoinHandler } from './join-protocol.ts'
import { CLIENT_PROTOCOL, JOIN_PROTOCOL, RAFT_PROTOCOL } from './protocols.ts'
import { RaftNetwork } from './raft-network.ts'
import { resolveSettings } from './settings.ts'
import { singleWriteTcp } from './single-write-tcp.ts'
import type { TransportSettings } from './settings.ts'
import { MathRandom, SystemClock } from './system-clock.ts'

export interface TransportOptions {
  /** Holds the node key (node.key, mode 0600). Without it the identity is ephemeral (clients). */
  dataDir?: string
  /** Listen multiaddrs; default /ip4/127.0.0.1/tcp/0. */
  listen?: string[]
  settings?: Partial<TransportSettings>
  /** Required to admit joining nodes; without it every join is refused. */
  clusterSecret?: string | Uint8Array
  /** Multiaddr ranges exempt from libp2p's inbound connection rate limit (default: loopback). */
  allowRanges?: string[]
  clock?: Clock
  random?: Random
  logger?: Logger
}

/** A target to dial: a multiaddr with /p2p/<id>, or a PeerId whose addresses were added with addPeerAddresses. */
export type DialTarget = string | Multiaddr

/** Inbound raft streams per peer and connection: one is expected, a few cover reconnect overlap. */
const MAX_RAFT_STREAMS_PER_CONNECTION = 4
/** Concurrent join exchanges per connection. */
const MAX_JOIN_STREAMS_PER_CONNECTION = 2

export class Transport {
  readonly id: NodeId
  readonly settings: TransportSettings
  private readonly libp2p: Libp2p
  private readonly countersStore: TransportCounters
  private readonly clock: Clock
  private readonly ownsClock: SystemClock | undefined
  private readonly secret: Uint8Array | undefined
  private readonly raft: RaftNetwork<GroupAddressed>
  private clientHandler: ClientRequestHandler | undefined
  private joinHandler: JoinHandler | undefined
  private stopped = false

  private constructor (init: { libp2p: Libp2p, settings: TransportSettings, counters: TransportCounters, clock: Clock, ownsClock: SystemClock | undefined, random: Random, logger: Logger, secret: Uint8Array | undefined }) {
    this.libp2p = init.libp2p
    this.id = init.libp2p.peerId.toString()
    this.settings = init.settings
    this.countersStore = init.counters
    this.clock = init.clock
    this.ownsClock = init.ownsClock
    this.secret = init.secret
    this.raft = new RaftNetwork({
      self: this.id,
      settings: this.settings,
      clock: init.clock,
      random: init.random,
      counters: init.counters,
      logger: init.logger.child({ component: 'raft-network' }),
      dial: async (peer) => (await this.dialStream(peerIdFromString(peer), RAFT_PROTOCOL)).stream
    })
  }

  static async start (options: TransportOptions): Promise<Transport> {
    const settings = resolveSettings(options.settings)
    const identity = options.dataDir === undefined ? await ephemeralIdentity() : await loadOrCreateIdentity(options.dataDir)
    const libp2p = await createLibp2p({
      privateKey: identity.privateKey,
      addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
      transports: [singleWriteTcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { allow: options.allowRanges ?? ['/ip4/127.0.0.0/ipcidr/8'] }
    })
    const ownsClock = options.clock === undefined ? new SystemClock() : undefined
    const logger = options.logger ?? silentLogger
    const secret = typeof options.clusterSecret === 'string' ? new TextEncoder().encode(options.clusterSecret) : options.clusterSecret
    const transport = new Transport({
      libp2p,
      settings,
      counters: new TransportCounters(),
      clock: options.clock ?? ownsClock as SystemClock,
      ownsClock,
      random: options.random ?? new MathRandom(),
      logger,
      secret
    })
    await transport.install()
    logger.info('transport started', {
      id: transport.id, created: identity.created, addresses: transport.addresses()
    })
    return transport
  }

  /** Listening addresses, each ending in /p2p/<id>. */
  addresses (): string[] {
    return this.libp2p.getMultiaddrs().map((address) => address.toString())
  }

  /** The Network<M> for Raft messages over /blazar/raft/1 (one per transport). */
  raftNetwork<M extends GroupAddressed> (): RaftNetwork<M> {
    return this.raft as unknown as RaftNetwork<M>
  }

  /** Replaces the cluster member allowlist (see RaftNetwork.setMembers). */
  setMembers (members: Iterable<NodeId>): void {
    this.raft.setMembers(members)
  }

  /** Tells the transport where `peer` listens, so it can be dialled by PeerId. */
  async addPeerAddresses (peer: NodeId, addresses: string[]): Promise<void> {
    await this.libp2p.peerStore.merge(peerIdFromString(peer), { multiaddrs: addresses.map((address) => multiaddr(address)) })
  }

  onClientRequest (handler: ClientRequestHandler): void {
    this.clientHandler = handler
  }

  async connectClient (target: DialTarget): Promise<ClientConnection> {
    const { stream, peer } = await this.dialStream(this.resolveTarget(target), CLIENT_PROTOCOL)
    return new ClientConnection({ peer, stream, settings: this.settings, counters: this.countersStore })
  }

  onJoin (handler: JoinHandler): void {
    this.joinHandler = handler
  }

  /** Asks `target` to admit this node; resolves with the answer body or rejects with JoinRefusedError. */
  async join (target: DialTarget, request: { secret: string | Uint8Array, body?: unknown }): Promise<unknown> {
    const signal = AbortSignal.timeout(this.settings.joinTimeoutMs)
    const { stream } = await this.dialStream(this.resolveTarget(target), JOIN_PROTOCOL, signal)
    const secret = typeof request.secret === 'string' ? new TextEncoder().encode(request.secret) : request.secret
    return await requestJoin(stream, { secret, body: request.body ?? null }, { settings: this.settings, counters: this.countersStore, signal })
  }

  /** Opens a raw stream on `protocol` (tests use it to misbehave; hosts should not need it). */
  async openStream (target: DialTarget, protocol: string): Promise<Stream> {
    return (await this.dialStream(this.resolveTarget(target), protocol)).stream
  }

  counters (): CounterSnapshot {
    return this.countersStore.snapshot()
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.raft.stop()
    await this.libp2p.stop()
    this.ownsClock?.stop()
  }

  private async install (): Promise<void> {
    const counters = this.countersStore
    await this.libp2p.handle(RAFT_PROTOCOL, (stream, connection) => {
      this.raft.handleInbound(stream, connection)
    }, { maxInboundStreams: MAX_RAFT_STREAMS_PER_CONNECTION, maxOutboundStreams: MAX_RAFT_STREAMS_PER_CONNECTION })
    await this.libp2p.handle(CLIENT_PROTOCOL, (stream, connection) => {
      new ClientSession({ peer: connection.remotePeer.toString(), stream, settings: this.settings, counters, handler: () => this.clientHandler })
    }, { maxInboundStreams: this.settings.maxClientStreamsPerConnection, maxOutboundStreams: this.settings.maxClientStreamsPerConnection })
    await this.libp2p.handle(JOIN_PROTOCOL, (stream, connection) => {
      serveJoin(stream, {
        peer: connection.remotePeer.toString(),
        secret: this.secret,
        handler: this.joinHandler,
        settings: this.settings,
        counters,
        clock: this.clock
      })
    }, { maxInboundStreams: MAX_JOIN_STREAMS_PER_CONNECTION, maxOutboundStreams: MAX_JOIN_STREAMS_PER_CONNECTION })
  }

  private resolveTarget (target: DialTarget): PeerId | Multiaddr {
    if (typeof target !== 'string') return target
    return target.startsWith('/') ? multiaddr(target) : peerIdFromString(target)
  }

  private async dialStream (target: PeerId | Multiaddr, protocol: string, signal?: AbortSignal): Promise<{ stream: Stream, peer: NodeId }> {
    if (this.stopped) throw new TransportStoppedError()
    const options = { signal: signal ?? AbortSignal.timeout(this.settings.dialTimeoutMs) }
    const connection = await this.libp2p.dial(target, options)
    const stream = await connection.newStream(protocol, options)
    return { stream, peer: connection.remotePeer.toString() }
  }
}
