// @blazar/env: the interfaces through which core code (raft, broker) reaches the world, and
// their simulated implementations. Core code gets an Env and nothing else; see DESIGN.md §3.
import type { Clock } from './clock.ts'
import type { Logger } from './logger.ts'
import type { Random } from './random.ts'

export type { Clock, TimerHandle } from './clock.ts'
export type { Random } from './random.ts'
export { SeededRandom } from './random.ts'
export type { Logger, LogFields, LogLevel, LogRecord } from './logger.ts'
export { CallbackLogger, silentLogger } from './logger.ts'
export type { Network, NodeId } from './network.ts'
export type {
  CorruptionReport, GroupId, HardState, LogEntry, MembershipConfig, RaftStorage,
  RecoveredState, SnapshotMeta
} from './raft-storage.ts'
export { LogCompactedError, StorageBackpressureError, StorageFatalError, StorageLimitError } from './raft-storage.ts'
export { VirtualClock } from './virtual-clock.ts'
export { TimerHeap, type HeapTimer } from './timer-heap.ts'
export type { TimerApi } from './timer-api.ts'
export { timerApi } from './timer-api.ts'

/** What core code receives instead of globals. */
export interface Env {
  clock: Clock
  random: Random
  logger: Logger
}
