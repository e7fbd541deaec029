// The @blazar/env Network over libp2p: one long-lived outbound /blazar/raft/1 stream per peer
// (RaftLink) carrying the messages of every group for that peer, batched into frames, and the
// inbound side that admits only cluster members, decodes frames and hands each message to the
// single receiver. Every frame from a peer (an empty one is the node-level heartbeat) refreshes
// that peer's liveness, which is what lets idle groups stay quiet.
import type { Clock, Logger, Network, NodeId, Random, TimerHandle } from '@blazar/env'
import type { Connection, Stream } from '@libp2p/interface'
import { decodeRaftBatch, packBody } from './body-codec.ts'
import type { GroupAddressed } from './body-codec.ts'
import type { TransportCounters } from './counters.ts'
import { NotAMemberError } from './errors.ts'
import { readFrames } from './framed-stream.ts'
import { RaftLink } from './raft-link.ts'
import type { TransportSettings } from './settings.ts'

export interface RaftNetworkContext {
  self: NodeId
  settings: TransportSettings
  clock: Clock
  random: Random
  counters: TransportCounters
  logger: Logger
  dial (peer: NodeId): Promise<Stream>
}

export class RaftNetwork<M extends GroupAddressed> implements Network<M> {
  private readonly context: RaftNetworkContext
  private readonly links = new Map<NodeId, RaftLink>()
  private readonly inbound = new Map<NodeId, Set<Stream>>()
  private readonly lastHeard = new Map<NodeId, number>()
  /** Liveness last reported to the listeners, per member. */
  private readonly reportedLive = new Map<NodeId, boolean>()
  private readonly livenessListeners: Array<(peer: NodeId, live: boolean) => void> = []
  private members = new Set<NodeId>()
  private receive: ((from: NodeId, message: M) => void) | undefined
  private heartbeatTimer: TimerHandle | undefined
  private stopped = false

  constructor (context: RaftNetworkContext) {
    this.context = context
    this.armHeartbeat()
  }

  send (to: NodeId, message: M): void {
    if (this.stopped) return
    if (to === this.context.self) {
      queueMicrotask(() => { this.deliver(to, message) })
      return
    }
    let encoded: Uint8Array
    try {
      encoded = packBody(message)
    } catch (error) {
      this.context.logger.error('raft message cannot be encoded; dropped', { to, error: String(error) })
      return
    }
    this.link(to).enqueue(encoded)
  }

  onMessage (receive: (from: NodeId, message: M) => void): void {
    this.receive = receive
  }

  /**
   * Replaces the allowlist: only these peers may open /blazar/raft/1 to this node, and this node
   * keeps a link (with node heartbeats) to each of them. Streams and links of removed peers close.
   */
  setMembers (members: Iterable<NodeId>): void {
    const next = new Set(members)
    next.delete(this.context.self)
    for (const peer of this.members) {
      if (next.has(peer)) continue
      for (const stream of this.inbound.get(peer) ?? []) stream.abort(new NotAMemberError(peer))
      this.inbound.delete(peer)
      this.links.get(peer)?.stop()
      this.links.delete(peer)
      this.reportedLive.delete(peer)
    }
    this.members = next
    for (const peer of next) this.link(peer).connect()
  }

  isMember (peer: NodeId): boolean {
    return this.members.has(peer)
  }

  /** Whether a frame from `peer` arrived within peerLivenessTimeoutMs. */
  isPeerLive (peer: NodeId): boolean {
    const at = this.lastHeard.get(peer)
    return at !== undefined && this.context.clock.now() - at < this.context.settings.peerLivenessTimeoutMs
  }

  /**
   * Calls `listener(peer, live)` when a member's node-level liveness changes: live on the first
   * frame after silence, not live once no frame arrived for peerLivenessTimeoutMs (checked every
   * nodeHeartbeatIntervalMs). A host wakes the quiesced groups led by a peer that went silent.
   */
  onPeerLiveness (listener: (peer: NodeId, live: boolean) => void): void {
    this.livenessListeners.push(listener)
  }

  /** clock.now() of the last frame from `peer`, if any. */
  lastHeardFrom (peer: NodeId): number | undefined {
    return this.lastHeard.get(peer)
  }

  /** Raft messages waiting for `peer` (for tests and metrics). */
  queuedFor (peer: NodeId): number {
    return this.links.get(peer)?.queuedMessages ?? 0
  }

  isConnectedTo (peer: NodeId): boolean {
    return this.links.get(peer)?.connected ?? false
  }

  /** The /blazar/raft/1 protocol handler (installed by the transport). */
  handleInbound (stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    const { counters, settings, clock } = this.context
    if (this.stopped || !this.members.has(peer)) {
      counters.add('raftStreamsRejected')
      stream.abort(new NotAMemberError(peer))
      return
    }
    counters.add('raftStreamsAccepted')
    let streams = this.inbound.get(peer)
    if (streams === undefined) { streams = new Set(); this.inbound.set(peer, streams) }
    streams.add(stream)
    stream.addEventListener('close', () => { this.inbound.get(peer)?.delete(stream) })
    readFrames(stream, settings.maxFrameBytes, {
      onFrame: (body) => {
        const messages = decodeRaftBatch<M>(body)
        this.lastHeard.set(peer, clock.now())
        if (this.reportedLive.get(peer) !== true) this.reportLiveness(peer, true)
        counters.add('raftMessagesReceived', messages.length)
        for (const message of messages) this.deliver(peer, message)
      },
      onError: (error) => { counters.addStreamError(error) },
      onEnd: () => { stream.close().catch(() => {}) }
    })
  }

  stop (): void {
    this.stopped = true
    if (this.heartbeatTimer !== undefined) this.context.clock.clearTimer(this.heartbeatTimer)
    for (const link of this.links.values()) link.stop()
    this.links.clear()
    for (const streams of this.inbound.values()) for (const stream of streams) stream.abort(new Error('transport stopped'))
    this.inbound.clear()
  }

  private deliver (from: NodeId, message: M): void {
    if (this.receive === undefined) return
    try {
      this.receive(from, message)
    } catch (error) {
      // A throwing receiver is a local bug, not the peer's fault: keep the stream, count it.
      this.context.counters.add('raftReceiveErrors')
      this.context.logger.error('raft receiver threw', { from, group: message.group, error: String(error) })
    }
  }

  private reportLiveness (peer: NodeId, live: boolean): void {
    this.reportedLive.set(peer, live)
    for (const listener of this.livenessListeners) {
      try {
        listener(peer, live)
      } catch (error) {
        this.context.logger.error('peer liveness listener threw', { peer, error: String(error) })
      }
    }
  }

  private link (peer: NodeId): RaftLink {
    let link = this.links.get(peer)
    if (link === undefined) {
      const { settings, clock, random, counters } = this.context
      link = new RaftLink(peer, { settings, clock, random, counters, dial: this.context.dial })
      this.links.set(peer, link)
    }
    return link
  }

  private armHeartbeat (): void {
    this.heartbeatTimer = this.context.clock.setTimer(this.context.settings.nodeHeartbeatIntervalMs, () => {
      for (const peer of this.members) {
        this.link(peer).heartbeat()
        if (this.reportedLive.get(peer) === true && !this.isPeerLive(peer)) this.reportLiveness(peer, false)
      }
      if (!this.stopped) this.armHeartbeat()
    })
  }
}
