// Blazar's admin results in the JSON shapes Pulsar's admin API answers (field names from
// Pulsar's TopicStats, SubscriptionStats, ConsumerStats, PublisherStats, PartitionedTopicStats
// and PersistentTopicInternalStats, as the Go admin library decodes them), and Pulsar message
// ids in Blazar's terms. A Blazar message id is (partition, Raft index, batch index); as a
// Pulsar id it is the protocol's one mapping (pulsar-message-id.ts: ledger 0, entry = the Raft index).
import {
  InvalidArgumentError, MessageId, PULSAR_LEDGER_ID, fromPulsarMessageId, toPulsarMessageId,
  type ClientResult, type CursorPosition, type MessageIdData, type NamespacePoliciesUpdate
} from '@blazar/protocol'

type TopicStats = ClientResult<'topics-stats'>
type InternalStats = ClientResult<'topics-internal-stats'>['partitions'][number]
type Policies = ClientResult<'namespaces-get-policies'>

/** The ledger id every Blazar message id maps to (protocol's PULSAR_LEDGER_ID), as JSON carries it. */
export const BLAZAR_LEDGER_ID = Number(PULSAR_LEDGER_ID)

/** A Blazar message id as Pulsar's REST MessageIdImpl JSON, through the protocol's one mapping (toPulsarMessageId). */
export function pulsarMessageId (id: MessageIdData): { ledgerId: number, entryId: number, partitionIndex: number, batchIndex: number } {
  const pulsar = toPulsarMessageId(MessageId.fromData(id))
  return { ledgerId: Number(pulsar.ledgerId), entryId: Number(pulsar.entryId), partitionIndex: pulsar.partition ?? id.partition, batchIndex: pulsar.batch_index ?? -1 }
}

/** `ledgerId:entryId:partition:batchIndex`, as Pulsar's X-Pulsar-Message-ID header carries it. */
export function pulsarMessageIdText (id: MessageIdData): string {
  const json = pulsarMessageId(id)
  return `${json.ledgerId}:${json.entryId}:${json.partitionIndex}:${json.batchIndex}`
}

/** A signed JSON long as the uint64 the Pulsar wire carries (-1 is 2^64 - 1, as Pulsar's earliest). */
function wireLong (argument: string, value: number): bigint {
  if (!Number.isInteger(value)) throw new InvalidArgumentError({ argument, reason: `${value} is not an integer` })
  return BigInt.asUintN(64, BigInt(value))
}

/**
 * A Pulsar MessageID body as a cursor position, through the protocol's one mapping
 * (fromPulsarMessageId): Pulsar's `earliest` is (-1, -1), its `latest` is (Long.MAX, Long.MAX)
 * (beyond 2^53 once parsed in JavaScript); anything else names the entry (a Raft index) to
 * deliver first, and an id Blazar never gave out (another ledger) is InvalidArgumentError.
 */
export function positionOfPulsarId (id: { ledgerId: number, entryId: number, partitionIndex?: number, batchIndex?: number }): CursorPosition {
  const named = fromPulsarMessageId({
    ledgerId: wireLong('ledgerId', id.ledgerId),
    entryId: wireLong('entryId', id.entryId),
    partition: id.partitionIndex ?? -1,
    batch_index: id.batchIndex ?? -1
  })
  if (named.equals(MessageId.earliest(named.partition))) return { at: 'earliest' }
  if (named.equals(MessageId.latest(named.partition))) return { at: 'latest' }
  return { at: 'message', index: named.index, batchIndex: named.batchIndex }
}

export function pulsarTopicStats (stats: TopicStats): Record<string, unknown> {
  const subscriptions: Record<string, unknown> = {}
  for (const sub of stats.subscriptions) {
    const consumers = (sub.consumerStats ?? []).map((consumer) => ({
      consumerName: consumer.consumerName,
      availablePermits: consumer.permits,
      unackedMessages: consumer.unackedMessages,
      blockedConsumerOnUnackedMsgs: consumer.blockedConsumerOnUnackedMsgs,
      msgRateOut: consumer.msgRateOut ?? 0,
      msgThroughputOut: consumer.msgThroughputOut ?? 0,
      msgRateRedeliver: 0
    }))
    subscriptions[sub.name] = {
      type: sub.type,
      msgBacklog: sub.backlog,
      msgBacklogNoDelayed: sub.backlog,
      unackedMessages: sub.unackedMessages ?? 0,
      msgRateOut: sub.msgRateOut ?? 0,
      msgThroughputOut: sub.msgThroughputOut ?? 0,
      msgRateRedeliver: sub.msgRateRedeliver ?? 0,
      msgRateExpired: 0,
      blockedSubscriptionOnUnackedMsgs: consumers.some((consumer) => consumer.blockedConsumerOnUnackedMsgs),
      isDurable: sub.durable ?? true,
      isReplicated: false,
      consumers
    }
  }
  const msgRateIn = stats.msgRateIn ?? 0
  const msgThroughputIn = stats.msgThroughputIn ?? 0
  return {
    msgRateIn,
    msgThroughputIn,
    msgRateOut: stats.msgRateOut ?? 0,
    msgThroughputOut: stats.msgThroughputOut ?? 0,
    msgInCounter: stats.messagesIn,
    bytesInCounter: stats.bytesIn,
    msgOutCounter: stats.messagesOut ?? 0,
    bytesOutCounter: stats.bytesOut ?? 0,
    averageMsgSize: msgRateIn > 0 ? msgThroughputIn / msgRateIn : 0,
    storageSize: stats.retainedBytes ?? 0,
    backlogSize: stats.backlogBytes ?? 0,
    publishers: (stats.publishers ?? []).map((publisher) => ({
      producerName: publisher.producerName,
      accessMode: 'Shared',
      msgRateIn: publisher.msgRateIn,
      msgThroughputIn: publisher.msgThroughputIn,
      averageMsgSize: publisher.msgRateIn > 0 ? publisher.msgThroughputIn / publisher.msgRateIn : 0
    })),
    subscriptions,
    replication: {},
    deduplicationStatus: 'Disabled'
  }
}

export function pulsarPartitionedStats (stats: TopicStats, perPartition: boolean): Record<string, unknown> {
  const partitions: Record<string, unknown> = {}
  if (perPartition) {
    for (const part of (stats.perPartition ?? []) as TopicStats[]) partitions[part.topic] = pulsarTopicStats(part)
  }
  return { ...pulsarTopicStats(stats), metadata: { partitions: stats.partitions }, partitions }
}

/** Pulsar's PersistentTopicInternalStats, plus `raft`: the partition's Raft state. */
export function pulsarInternalStats (stats: InternalStats): Record<string, unknown> {
  const cursors: Record<string, unknown> = {}
  for (const sub of stats.subscriptions) {
    cursors[sub.name] = {
      markDeletePosition: `${BLAZAR_LEDGER_ID}:${sub.markDelete}`,
      individuallyDeletedMessages: `${sub.ackedRanges} range(s)`,
      totalNonContiguousDeletedMessagesRange: sub.ackedRanges,
      state: 'Open',
      properties: { generation: sub.generation }
    }
  }
  return {
    entriesAddedCounter: stats.lastIndex,
    numberOfEntries: stats.retainedMessages,
    totalSize: stats.retainedBytes,
    currentLedgerEntries: stats.retainedMessages,
    currentLedgerSize: stats.retainedBytes,
    lastConfirmedEntry: `${BLAZAR_LEDGER_ID}:${stats.commitIndex}`,
    state: 'LedgerOpened',
    waitingCursorsCount: 0,
    pendingAddEntriesCount: Math.max(0, stats.lastIndex - stats.commitIndex),
    ledgers: [{ ledgerId: BLAZAR_LEDGER_ID, entries: stats.retainedMessages, size: stats.retainedBytes, offloaded: false }],
    cursors,
    raft: {
      group: stats.group,
      leader: stats.leader,
      term: stats.term,
      commitIndex: stats.commitIndex,
      appliedIndex: stats.appliedIndex,
      lastIndex: stats.lastIndex,
      firstRetainedIndex: stats.firstRetainedIndex,
      voters: stats.voters,
      learners: stats.learners,
      replicas: stats.replicas
    }
  }
}

/** Pulsar's Policies object for the policies Blazar has. */
export function pulsarPolicies (policies: Policies, clusterName: string): Record<string, unknown> {
  return {
    replication_clusters: [clusterName],
    retention_policies: retentionOf(policies),
    deduplicationEnabled: policies.deduplication,
    autoTopicCreationOverride: autoTopicCreationOf(policies),
    persistence: persistenceOf(policies),
    message_ttl_in_seconds: policies.messageTTLSeconds,
    backlog_quota_map: policies.backlogQuotas,
    compaction_threshold: policies.compactionThreshold,
    schema_validation_enforced: false,
    // Blazar extensions (no Pulsar namespace policy of these names).
    max_message_size: policies.maxMessageSize,
    durability: policies.durability
  }
}

export function retentionOf (policies: Policies): { retentionTimeInMinutes: number, retentionSizeInMB: number } {
  return { retentionTimeInMinutes: policies.retentionTimeMinutes, retentionSizeInMB: policies.retentionSizeMB }
}

export function autoTopicCreationOf (policies: Policies): { allowAutoTopicCreation: boolean, topicType: string, defaultNumPartitions: number } {
  return { allowAutoTopicCreation: policies.autoTopicCreation, topicType: 'non-partitioned', defaultNumPartitions: policies.defaultNumPartitions }
}

/** Pulsar's persistence policy: a Raft replica set of n writes to n and acknowledges on a majority. */
export function persistenceOf (policies: Policies): Record<string, number> {
  return {
    bookkeeperEnsemble: policies.replicationFactor,
    bookkeeperWriteQuorum: policies.replicationFactor,
    bookkeeperAckQuorum: Math.floor(policies.replicationFactor / 2) + 1,
    managedLedgerMaxMarkDeleteRate: 0
  }
}

/** The policy update a Pulsar Policies body (on namespace creation) asks for. */
export function policiesFromPulsar (body: Record<string, unknown> | null): NamespacePoliciesUpdate | undefined {
  if (body === null) return undefined
  const update: NamespacePoliciesUpdate = {}
  const retention = body.retention_policies as { retentionTimeInMinutes?: number, retentionSizeInMB?: number } | undefined
  if (retention !== undefined) {
    update.retentionTimeMinutes = retention.retentionTimeInMinutes
    update.retentionSizeMB = retention.retentionSizeInMB
  }
  if (typeof body.deduplicationEnabled === 'boolean') update.deduplication = body.deduplicationEnabled
  const persistence = body.persistence as { bookkeeperEnsemble?: number } | undefined
  if (persistence?.bookkeeperEnsemble !== undefined) update.replicationFactor = persistence.bookkeeperEnsemble
  const auto = body.autoTopicCreationOverride as { allowAutoTopicCreation?: boolean, defaultNumPartitions?: number } | undefined
  if (auto?.allowAutoTopicCreation !== undefined) update.autoTopicCreation = auto.allowAutoTopicCreation
  if (auto?.defaultNumPartitions !== undefined) update.defaultNumPartitions = auto.defaultNumPartitions
  if (typeof body.message_ttl_in_seconds === 'number') update.messageTTLSeconds = body.message_ttl_in_seconds
  if (typeof body.compaction_threshold === 'number') update.compactionThreshold = body.compaction_threshold
  if (body.backlog_quota_map !== undefined && body.backlog_quota_map !== null) update.backlogQuotas = body.backlog_quota_map as NamespacePoliciesUpdate['backlogQuotas']
  return Object.keys(update).length === 0 ? undefined : update
}

/**
 * Pulsar's LongRunningProcessStatus over a topic's partitions: ERROR if one failed, else
 * RUNNING if one is building its view, else NOT_RUN if none was compacted, else SUCCESS.
 */
export function pulsarCompactionStatus (partitions: ClientResult<'topics-compaction-status'>['partitions']): { status: string, lastError: string } {
  const failed = partitions.find((p) => p.status === 'ERROR')
  if (failed !== undefined) return { status: 'ERROR', lastError: `${failed.group}: ${failed.lastError ?? ''}` }
  if (partitions.some((p) => p.status === 'RUNNING')) return { status: 'RUNNING', lastError: '' }
  if (partitions.some((p) => p.status === 'SUCCESS')) return { status: 'SUCCESS', lastError: '' }
  return { status: 'NOT_RUN', lastError: '' }
}
