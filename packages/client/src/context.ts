// What every producer, consumer and the admin API share inside one Client: the connection
// pool, lookups, time, compression codecs, handle allocation and the client's own lifetime.
import type { CompressionCodecs } from '@blazar/protocol'
import type { ConnectionPool } from './connection-pool.ts'
import type { TopicLookup } from './lookup.ts'
import type { ClientFaults } from './options.ts'
import type { Timers } from './timers.ts'

export interface ClientContext {
  pool: ConnectionPool
  lookup: TopicLookup
  timers: Timers
  /** Uniform in [0, 1): every random choice the client makes (seeded in the simulator). */
  random: () => number
  faults?: ClientFaults
  codecs: CompressionCodecs
  operationTimeoutMs: number
  /** A handle unique within the client (so unique per connection, as the contract requires). */
  nextHandle: () => number
  /** Aborts when the client closes: retries stop, waits end. */
  closed: AbortSignal
}
