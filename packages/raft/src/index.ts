// @blazar/raft: the Raft consensus core of one group (sans-IO core, xstate role machine, the
// RaftNode shell) and an in-memory RaftStorage that models durability. See README.md.
export type { RaftConfig } from './config.ts'
export { defaultRaftConfig, resolveRaftConfig } from './config.ts'
export type { RaftFaults, RaftObserver } from './core.ts'
export {
  BackpressureError, ConfigChangeError, LeadershipLostError, NotLeaderError, RaftInvariantError, RaftStoppedError,
  ReadTimeoutError, StorageCorruptedError, TransferFailedError, TransferInProgressError
} from './errors.ts'
export { decodeConfig, RAFT_ENTRY_KIND } from './membership.ts'
export { MAX_UNSYNCED_OPERATIONS, MemoryRaftStorage } from './memory-storage.ts'
export type {
  AppendRequest, AppendResponse, Heartbeat, HeartbeatResponse, RaftMessage, RaftMessageType, ReadIndexRequest, ReadIndexResponse,
  SnapshotChunk, SnapshotResponse, TimeoutNow, VoteRequest, VoteResponse
} from './messages.ts'
export type { RaftNodeOptions, RaftStatus, StateMachine } from './node.ts'
export { RaftNode } from './node.ts'
export type { RoleName } from './roles.ts'
export { roleMachine } from './roles.ts'
