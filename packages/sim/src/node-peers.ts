// The simulated peer network of one node incarnation, in place of the libp2p RaftNetwork: Raft
// messages of every group go over the shared SimNetwork (delay, loss, duplication, replay,
// partitions), and a node-level heartbeat to every member every NODE_HEARTBEAT_MS drives the
// liveness the node core uses (quiesced groups wake when a peer goes silent, forwarding
// connections to a silent peer are reset), with the production transport's timings.
import type { Clock, NodeId, TimerHandle } from '@blazar/env'
import type { PeerNetwork } from '@blazar/node/core'
import type { RaftMessage } from '@blazar/raft'
import { defaultTransportSettings } from '@blazar/transport'

/** What travels between two nodes' peer networks. */
export type PeerFrame = { kind: 'raft', message: RaftMessage } | { kind: 'heartbeat' }

export const NODE_HEARTBEAT_MS = defaultTransportSettings.nodeHeartbeatIntervalMs
export const PEER_LIVENESS_TIMEOUT_MS = defaultTransportSettings.peerLivenessTimeoutMs

export class SimPeerNetwork implements PeerNetwork {
  private readonly self: NodeId
  private readonly clock: Clock
  private readonly members: readonly NodeId[]
  private readonly transmit: (to: NodeId, frame: PeerFrame) => void
  private readonly lastHeard = new Map<NodeId, number>()
  private readonly reportedLive = new Map<NodeId, boolean>()
  private readonly livenessListeners: Array<(peer: NodeId, live: boolean) => void> = []
  private receiver: ((from: NodeId, message: RaftMessage) => void) | undefined
  private timer: TimerHandle | undefined
  private stopped = false

  constructor (options: { self: NodeId, clock: Clock, members: readonly NodeId[], transmit: (to: NodeId, frame: PeerFrame) => void }) {
    this.self = options.self
    this.clock = options.clock
    this.members = options.members.filter((member) => member !== options.self)
    this.transmit = options.transmit
    this.armHeartbeat()
  }

  send (to: NodeId, message: RaftMessage): void {
    if (this.stopped) return
    if (to === this.self) {
      queueMicrotask(() => { this.receiver?.(to, message) })
      return
    }
    this.transmit(to, { kind: 'raft', message })
  }

  onMessage (receive: (from: NodeId, message: RaftMessage) => void): void {
    this.receiver = receive
  }

  isPeerLive (peer: NodeId): boolean {
    const at = this.lastHeard.get(peer)
    return at !== undefined && this.clock.now() - at < PEER_LIVENESS_TIMEOUT_MS
  }

  onPeerLiveness (listener: (peer: NodeId, live: boolean) => void): void {
    this.livenessListeners.push(listener)
  }

  /** A frame from `from` reached this incarnation. */
  receive (from: NodeId, frame: PeerFrame): void {
    if (this.stopped) return
    this.lastHeard.set(from, this.clock.now())
    if (this.reportedLive.get(from) !== true) this.report(from, true)
    if (frame.kind === 'raft') this.receiver?.(from, frame.message)
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimer(this.timer)
  }

  private report (peer: NodeId, live: boolean): void {
    this.reportedLive.set(peer, live)
    for (const listener of this.livenessListeners) listener(peer, live)
  }

  private armHeartbeat (): void {
    this.timer = this.clock.setTimer(NODE_HEARTBEAT_MS, () => {
      if (this.stopped) return
      for (const peer of this.members) {
        this.transmit(peer, { kind: 'heartbeat' })
        if (this.reportedLive.get(peer) === true && !this.isPeerLive(peer)) this.report(peer, false)
      }
      this.armHeartbeat()
    })
  }
}
