// @blazar/broker: the broker's core, deterministic and I/O-free (DESIGN.md §3, §5-7): the
// partition and metadata state machines that Raft groups replicate, placement, and the
// leader-side consumer dispatch. Everything reaches the world only through Env.
export { BrokerInvariantError, RAFT_INTERNAL_KIND, type StateMachine } from './state-machine.ts'
export { RangeSet, type IndexRange } from './range-set.ts'
export {
  DEFAULT_SNAPSHOT_AFTER_TRIMMED_BYTES, PartitionStateMachine, type BacklogListener, type CommitListener, type DeadLetterListener, type LogReader, type PartitionStateMachineOptions, type ReadLimits
} from './partition/partition-state-machine.ts'
export { DEFAULT_MESSAGE_CACHE_LIMITS, MessageCache, type MessageCacheLimits, type StoredBatch } from './partition/message-cache.ts'
export { MAX_RECENT_OUTCOMES, type PartitionOutcome } from './partition/outcomes.ts'
export { DedupTable, type ProducerRecord } from './partition/dedup-table.ts'
export { SubscriptionCursor, type CursorState } from './partition/subscription-cursor.ts'
export { RetainedIndex, type RetainedBatch } from './partition/retained-index.ts'
export { CompactedView, MAX_COMPACTED_KEYS } from './partition/compacted-view.ts'
export { COMPACTION_READ_BYTES, COMPACTION_READ_ENTRIES, Compactor, type CompactionStatus, type CompactorOptions } from './partition/compactor.ts'
export { compactedSource } from './partition/compacted-source.ts'
export { DeadLetterOutbox, MAX_DEAD_LETTER_OUTBOX_ENTRIES, type OutboxEntry, type OutboxState } from './partition/dead-letter-outbox.ts'
export {
  DEFAULT_DEAD_LETTER_FORWARDER_LIMITS, DeadLetterForwarder, deadLetterProducerName,
  type DeadLetterForwarderLimits, type DeadLetterForwarderOptions, type DeadLetterRecord, type DeadLetterSink
} from './partition/dead-letter-forwarder.ts'
export {
  MetadataStateMachine, groupsOfTopic,
  type MetadataOutcome, type MetadataState, type NamespaceRecord, type NodeRecord, type NodeState, type TenantRecord, type TopicRecord
} from './metadata/metadata-state-machine.ts'
export {
  METADATA_COMMAND_KIND, NODE_STATES, decodeMetadataCommand, encodeMetadataCommand, metadataCommandSchema, type MetadataCommand
} from './metadata/metadata-commands.ts'
export { DEFAULT_NAMESPACE_POLICIES, partitionConfigOf, withPolicies, type DurabilityMode, type NamespacePolicies } from './metadata/policies.ts'
export {
  MAX_MOVES_PER_ROUND, chooseMetadataVoters, emptyLoad, loadOf, placeGroups, planGrowth, planLeaderBalance, planRebalance, planReplacements,
  type GroupPlacement, type PlacementLoad, type PlacementMove, type PlacementNode
} from './metadata/placement.ts'
export {
  subscriptionLifecycle, type ConsumerRef, type LifecycleContext, type LifecycleEvent, type SubscriptionLifecycleState
} from './dispatch/subscription-lifecycle.ts'
export { DEFAULT_DISPATCH_LIMITS, deliveredEntry, type DispatchLimits, type DispatchSource, type DispatcherOptions } from './dispatch/dispatch-options.ts'
export { SubscriptionDispatcher, type ConsumerDispatchStats, type DispatchStats } from './dispatch/subscription-dispatcher.ts'
export { DelayedIndex, type DelayedBatch } from './dispatch/delayed-index.ts'
export { createDispatcher, exclusiveDispatcher, failoverDispatcher, keySharedDispatcher, sharedDispatcher } from './dispatch/create-dispatcher.ts'
export type { DispatchConsumer, DispatchPolicy, OrderKey, PolicyContext } from './dispatch/dispatch-policy.ts'
export { DEFAULT_FAILOVER_DELAY_MS, SingleActivePolicy, type FailoverOptions } from './dispatch/single-active-policy.ts'
export { RoundRobinPolicy } from './dispatch/round-robin-policy.ts'
export { KeyHashPolicy, batchKeyHash } from './dispatch/key-hash-policy.ts'
export { ReadLoop, type ReadLoopOptions } from './dispatch/read-loop.ts'
export { ReplayQueue, type WaitingBatch } from './dispatch/replay-queue.ts'
export { CursorTracker, type CursorTrackerOptions } from './dispatch/cursor-tracker.ts'
export { UnackedEntries } from './dispatch/unacked-entries.ts'
export { MAX_TRACKED_REDELIVERIES, RedeliveryCounts } from './dispatch/redelivery-counts.ts'
export { lifecycleDiagramForType, lifecycleDiagramMermaid } from './dispatch/lifecycle-diagram.ts'
export { HashRing, NONE_KEY_HASH, POINTS_PER_CONSUMER } from './dispatch/hash-ring.ts'
export { admitBatch, proposalError, sendResultOf } from './partition/produce.ts'
export {
  DEFAULT_BACKLOG_QUOTA_CHECK_INTERVAL_MS, DEFAULT_COMPACTION_CHECK_INTERVAL_MS, DEFAULT_MESSAGE_EXPIRY_CHECK_INTERVAL_MS, DEFAULT_RETENTION_CHECK_INTERVAL_MS, PartitionReplica,
  type PartitionReplicaOptions, type SubscribeRequest
} from './partition/partition-replica.ts'
export { BACKLOG_EVICTION_TARGET, backlogUsage, evictionAdvances, exceededQuotas, expiryAdvances, type CursorAdvance, type ExceededQuota } from './partition/backlog-policies.ts'
export { DEFAULT_BACKLOG_QUOTA_HOLD_MS, HeldSends, MAX_HELD_SEND_BYTES, MAX_HELD_SENDS } from './partition/held-sends.ts'
export { cursorMoveTarget } from './partition/cursor-moves.ts'
export { DEFAULT_RATE_WINDOW, RateTracker, type RateWindow, type Rates } from './stats/rate-tracker.ts'
