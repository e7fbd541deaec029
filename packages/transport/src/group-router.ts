// Multi-raft dispatch on top of any Network<M> (libp2p or the simulator's): many groups share
// one network; outgoing messages of all groups go through the same per-peer links (and so
// share frames), and each inbound message is handed to its group by `message.group`.
import type { GroupId, Network, NodeId } from '@blazar/env'
import type { GroupAddressed } from './body-codec.ts'
import { assert } from './errors.ts'

export class GroupRouter<M extends GroupAddressed> {
  private readonly network: Network<M>
  private readonly groups = new Map<GroupId, (from: NodeId, message: M) => void>()
  private unknownGroupMessages = 0

  constructor (network: Network<M>) {
    this.network = network
    network.onMessage((from, message) => {
      const receive = this.groups.get(message.group)
      if (receive === undefined) { this.unknownGroupMessages++; return }
      receive(from, message)
    })
  }

  /** Registers a group's receiver; returns the `send` function to give that group's RaftNode. */
  register (group: GroupId, receive: (from: NodeId, message: M) => void): (to: NodeId, message: M) => void {
    assert(!this.groups.has(group), `group ${group} registered twice`)
    this.groups.set(group, receive)
    return (to, message) => {
      assert(message.group === group, `group ${group} sent a message for ${message.group}`)
      this.network.send(to, message)
    }
  }

  unregister (group: GroupId): void {
    this.groups.delete(group)
  }

  /** Messages that arrived for a group this node does not host (dropped; counted here). */
  get droppedUnknownGroup (): number {
    return this.unknownGroupMessages
  }
}
