// The Network interface: how a node's core sends messages to peers and receives theirs.
// Delivery is best effort (messages may be lost, duplicated, delayed or reordered); Raft is
// built to tolerate exactly that. The simulator and libp2p both implement it.

/** A node's identity: its libp2p PeerId string in production, a short name in the simulator. */
export type NodeId = string

export interface Network<Message> {
  /** Queues `message` for `to`. Never throws for an unreachable peer: the message is dropped. */
  send (to: NodeId, message: Message): void
  /** Installs the single receiver of messages addressed to this node. */
  onMessage (receive: (from: NodeId, message: Message) => void): void
}
