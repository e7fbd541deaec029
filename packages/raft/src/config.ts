// RaftConfig: every knob of a Raft group, its default and its validation. All times are
// milliseconds on env.clock.

export interface RaftConfig {
  /** Election timeout base; each election draws uniformly from [electionTimeoutMs, 2 * electionTimeoutMs). */
  electionTimeoutMs: number
  /** Leader heartbeat period; must be below electionTimeoutMs. */
  heartbeatIntervalMs: number
  /** Pre-vote round before a real election (thesis §9.6). */
  preVote: boolean
  /** Leader steps down without a quorum of recent contact; followers ignore votes while in a lease. */
  checkQuorum: boolean
  /** AppendEntries messages in flight per follower in the replicate state. */
  maxInflightAppends: number
  /** Payload bytes per AppendEntries (at least one entry is always sent). */
  maxAppendBytes: number
  /** Proposals, membership changes and reads awaiting commit/apply; beyond this calls reject with BackpressureError. */
  maxPendingProposals: number
  /** Bytes per InstallSnapshot chunk. */
  snapshotChunkBytes: number
  /** Applied entries beyond the last snapshot before a new snapshot (and log compaction). */
  snapshotThresholdEntries: number
  /** Bytes of recent log entries kept in memory for replication and apply (older ones are read from storage). */
  entryCacheBytes: number
  /** Largest snapshot a follower accepts over InstallSnapshot. */
  maxSnapshotBytes: number
  /** Idle groups stop heartbeats and election timers (see README, quiescence). */
  quiesce: boolean
}

export const defaultRaftConfig: Readonly<RaftConfig> = Object.freeze({
  electionTimeoutMs: 1000,
  heartbeatIntervalMs: 100,
  preVote: true,
  checkQuorum: true,
  maxInflightAppends: 64,
  maxAppendBytes: 1024 * 1024,
  maxPendingProposals: 10_000,
  snapshotChunkBytes: 256 * 1024,
  snapshotThresholdEntries: 10_000,
  entryCacheBytes: 8 * 1024 * 1024,
  maxSnapshotBytes: 512 * 1024 * 1024,
  quiesce: false
})

export function resolveRaftConfig (partial: Partial<RaftConfig> = {}): RaftConfig {
  const config: RaftConfig = { ...defaultRaftConfig, ...partial }
  const positive: Array<keyof RaftConfig> = [
    'electionTimeoutMs', 'heartbeatIntervalMs', 'maxInflightAppends', 'maxAppendBytes', 'maxPendingProposals',
    'snapshotChunkBytes', 'snapshotThresholdEntries', 'entryCacheBytes', 'maxSnapshotBytes'
  ]
  for (const key of positive) {
    const value = config[key]
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new RangeError(`raft config ${key} must be a positive integer, got ${String(value)}`)
    }
  }
  if (config.heartbeatIntervalMs >= config.electionTimeoutMs) {
    throw new RangeError('raft config heartbeatIntervalMs must be below electionTimeoutMs')
  }
  return config
}
