// The edges a node core reaches the world through, as interfaces: the peer network that
// carries every group's Raft messages with node-level liveness, and the client connections
// this node opens to other nodes to forward requests. Production passes the libp2p transport
// (`RaftNetwork`, `Transport.connectClient`); the simulator passes its simulated network.
import type { Network, NodeId } from '@blazar/env'
import type { RaftMessage } from '@blazar/raft'

/** The multi-raft peer network with node-level liveness (a heartbeat per peer pair). */
export interface PeerNetwork extends Network<RaftMessage> {
  /** Whether a frame from `peer` arrived within the liveness timeout. */
  isPeerLive (peer: NodeId): boolean
  /** Calls `listener` when a member's liveness changes. */
  onPeerLiveness (listener: (peer: NodeId, live: boolean) => void): void
}

/** The client end of a node-to-node client-protocol connection (what forwarding uses). */
export interface UpstreamConnection {
  readonly open: boolean
  /** Sends a request body; resolves with the response body; rejects when the connection closes or `signal` aborts. */
  request (body: unknown, options?: { signal?: AbortSignal }): Promise<unknown>
  onPush (listener: (body: unknown) => void): void
  /** Called once when the connection closes (at once if it already has). */
  onClose (listener: (error: Error) => void): void
  /** Lets the server push `n` more messages. */
  grantPermits (n: number): void
  close (): Promise<void>
  /** Resets the connection at once: pending requests reject, close listeners run. */
  abort (reason: Error): void
}

/** Opens client-protocol connections to other nodes. */
export interface ClientDialer {
  connectClient (node: NodeId): Promise<UpstreamConnection>
}
