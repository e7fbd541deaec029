// The messages Raft peers exchange: plain objects (msgpack-able), each tagged with its group
// and the sender's term. Responses carry enough to be matched to their request without state
// on the wire (index for appends, read sequence for heartbeats, snapshot index for chunks).
import type { GroupId, LogEntry, SnapshotMeta } from '@blazar/env'

/** Pre-vote and vote requests. A pre-vote carries the term the sender would campaign in. */
export interface VoteRequest {
  type: 'preVote' | 'vote'
  group: GroupId
  term: number
  lastIndex: number
  lastTerm: number
  /** Set by a leader-transfer campaign: voters ignore their leader lease. */
  force: boolean
}

export interface VoteResponse {
  type: 'preVoteResponse' | 'voteResponse'
  group: GroupId
  term: number
  granted: boolean
}

export interface AppendRequest {
  type: 'append'
  group: GroupId
  term: number
  prevIndex: number
  prevTerm: number
  entries: LogEntry[]
  commit: number
}

export interface AppendResponse {
  type: 'appendResponse'
  group: GroupId
  term: number
  /** On success the last index known to match the leader; on reject the rejected prevIndex. */
  index: number
  reject: boolean
  /** On reject: the follower's best guess of a matching index and its term (fast backtracking). */
  hintIndex: number
  hintTerm: number
}

export interface Heartbeat {
  type: 'heartbeat'
  group: GroupId
  term: number
  /** min(follower match, leader commit): always safe for the follower to commit. */
  commit: number
  /** ReadIndex round this heartbeat confirms leadership for (0 = none). */
  readSeq: number
  /** The group is idle: followers stop their election timers until the next message. */
  quiesce: boolean
}

export interface HeartbeatResponse {
  type: 'heartbeatResponse'
  group: GroupId
  term: number
  readSeq: number
}

export interface SnapshotChunk {
  type: 'snapshot'
  group: GroupId
  term: number
  meta: SnapshotMeta
  offset: number
  totalBytes: number
  data: Uint8Array
}

export interface SnapshotResponse {
  type: 'snapshotResponse'
  group: GroupId
  term: number
  /** The snapshot index this answers. */
  index: number
  /** Bytes received so far (the next offset the follower wants). */
  received: number
  /** The snapshot is installed (or already covered by the follower's commit). */
  done: boolean
}

/** A follower asks the leader for a confirmed read index on behalf of a local readIndex() call. */
export interface ReadIndexRequest {
  type: 'readIndex'
  group: GroupId
  term: number
  requestId: number
}

export interface ReadIndexResponse {
  type: 'readIndexResponse'
  group: GroupId
  term: number
  requestId: number
  /** The leader's commit index, confirmed by a quorum after the request arrived. */
  index: number
}

export interface TimeoutNow {
  type: 'timeoutNow'
  group: GroupId
  term: number
}

export type RaftMessage =
  | VoteRequest | VoteResponse | AppendRequest | AppendResponse | Heartbeat | HeartbeatResponse
  | SnapshotChunk | SnapshotResponse | ReadIndexRequest | ReadIndexResponse | TimeoutNow

export type RaftMessageType = RaftMessage['type']
