// Namespace policies and their defaults. Pulsar's defaults where Pulsar has one; where Blazar
// differs it says why: topics are not auto-created (a typo should not silently create a
// replicated Raft group), and the durability default is fsync on a majority.
import { DEFAULT_MAX_MESSAGE_SIZE, type BacklogQuotas, type NamespacePoliciesUpdate, type PartitionConfig } from '@blazar/protocol'

export type DurabilityMode = 'majority-fsync' | 'majority-memory'

export interface NamespacePolicies {
  replicationFactor: number
  autoTopicCreation: boolean
  defaultNumPartitions: number
  retentionTimeMinutes: number
  retentionSizeMB: number
  deduplication: boolean
  maxMessageSize: number
  durability: DurabilityMode
  /** Pulsar messageTTL (seconds; 0 = off, Pulsar's `ttlDurationDefaultInSeconds`). */
  messageTTLSeconds: number
  /** Pulsar backlog quotas by type (none by default: Pulsar's limits default to -1). */
  backlogQuotas: BacklogQuotas
  /** Pulsar compactionThreshold (bytes of backlog since the last compaction; 0 = off, Pulsar's default). */
  compactionThreshold: number
}

export const DEFAULT_NAMESPACE_POLICIES: NamespacePolicies = {
  replicationFactor: 3,
  autoTopicCreation: false,
  defaultNumPartitions: 1,
  retentionTimeMinutes: 0,
  retentionSizeMB: 0,
  deduplication: false,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  durability: 'majority-fsync',
  messageTTLSeconds: 0,
  backlogQuotas: {},
  compactionThreshold: 0
}

export function withPolicies (base: NamespacePolicies, update: NamespacePoliciesUpdate | undefined): NamespacePolicies {
  const merged = { ...base }
  if (update === undefined) return merged
  for (const key of Object.keys(update) as Array<keyof NamespacePoliciesUpdate>) {
    const value = update[key]
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value
  }
  return merged
}

/** The `config` entry a partition of a topic in this namespace starts with. */
export function partitionConfigOf (policies: NamespacePolicies): PartitionConfig {
  return {
    deduplication: policies.deduplication,
    retentionTimeMinutes: policies.retentionTimeMinutes,
    retentionSizeMB: policies.retentionSizeMB,
    maxMessageSize: policies.maxMessageSize,
    messageTTLSeconds: policies.messageTTLSeconds,
    backlogQuotas: policies.backlogQuotas,
    compactionThreshold: policies.compactionThreshold
  }
}
