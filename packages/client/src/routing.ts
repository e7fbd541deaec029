// Which partition a message goes to (Pulsar's MessageRouter): a keyed message by its key's
// Murmur3 hash modulo the partition count, so a key always lands on one partition; a keyless
// one round robin (RoundRobinDistribution) or always the same partition, picked once at random
// (UseSinglePartition).
import { keyHash } from '@blazar/protocol'

export const MESSAGE_ROUTING_MODES = ['RoundRobinDistribution', 'UseSinglePartition'] as const
export type MessageRoutingMode = typeof MESSAGE_ROUTING_MODES[number]

export class MessageRouter {
  private readonly partitions: number
  private readonly mode: MessageRoutingMode
  private next: number

  /** `start` is the first round-robin / the single partition (the client picks it at random). */
  constructor (partitions: number, mode: MessageRoutingMode, start: number) {
    this.partitions = partitions
    this.mode = mode
    this.next = start % partitions
  }

  partitionFor (key: string | undefined): number {
    if (key !== undefined) return keyHash(key) % this.partitions
    if (this.mode === 'UseSinglePartition') return this.next
    const partition = this.next
    this.next = (this.next + 1) % this.partitions
    return partition
  }
}
