// Where to send a partition's traffic: `lookup` names each partition's Raft leader and its
// addresses; the client uses a direct connection to that leader when it can reach it and any
// connected node otherwise (which forwards, "publish via any node").
import type { ClientResult } from '@blazar/protocol'
import type { ClientLink } from './client-transport.ts'
import type { ConnectionPool } from './connection-pool.ts'

export type LookupResult = ClientResult<'lookup'>
export type PartitionLeader = LookupResult['leaders'][number]

export class TopicLookup {
  private readonly pool: ConnectionPool

  constructor (pool: ConnectionPool) {
    this.pool = pool
  }

  async lookup (topic: string, timeoutMs: number): Promise<LookupResult> {
    return await this.pool.request(await this.pool.any(), { type: 'lookup', topic }, timeoutMs)
  }

  /**
   * A fresh lookup of `topic` (the partitioned topic itself, never a `-partition-N` name),
   * then the connection to use for `partition` (-1 for a non-partitioned topic).
   */
  async connectionFor (topic: string, partition: number, timeoutMs: number): Promise<ClientLink> {
    const result = await this.lookup(topic, timeoutMs)
    const leader = result.leaders.find((entry) => entry.partition === partition)
    if (leader?.leader != null) {
      const direct = await this.pool.toPeer(leader.leader, leader.addresses)
      if (direct !== null) return direct
    }
    return await this.pool.any()
  }
}
