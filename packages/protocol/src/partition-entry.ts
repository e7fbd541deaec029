// The entries of a partition's Raft log (DESIGN.md §5). The kind travels in LogEntry.kind
// (0 is Raft's own), the body is msgpack. `batch` holds one producer batch; `cursor` advances a
// subscription's acknowledgements; `subscription` creates, deletes or resets one; `config`
// sets the partition's policies; `trim` drops messages below a point (retention); `compaction`
// raises the compacted view's horizon to the entry's own index (topic compaction);
// `deadLetter` acknowledges messages of a subscription and appends them to the partition's
// dead-letter outbox in one step, `deadLetterForwarded` trims what the leader forwarded.
import { batchEnvelopeSchema, previousSequenceIdSchema } from './batch.ts'
import { pack, unpack } from './codec.ts'
import {
  DEFAULT_MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE_CEILING, MAX_MESSAGES_PER_BATCH, MAX_NAME_LENGTH, MAX_PERSISTED_ACK_RANGES,
  MAX_PERSISTED_BATCH_ACKS, MAX_TOPIC_NAME_LENGTH
} from './limits.ts'
import {
  MalformedMessageError, array, boolean, int, literal, object, optional, string, tuple, union, type Infer, type Schema
} from './schema.ts'

export const PartitionEntryKind = {
  batch: 1,
  cursor: 2,
  subscription: 3,
  config: 4,
  trim: 5,
  compaction: 6,
  deadLetter: 7,
  deadLetterForwarded: 8
} as const
export type PartitionEntryKindName = keyof typeof PartitionEntryKind

/** Largest encoded partition entry (a full batch plus its envelope). */
export const MAX_PARTITION_ENTRY_BYTES = MAX_MESSAGE_SIZE_CEILING + 64 * 1024

const logIndex = int({ min: 0, max: Number.MAX_SAFE_INTEGER })
const subscriptionName = string({ min: 1, max: MAX_NAME_LENGTH })
const time = int({ min: 0, max: Number.MAX_SAFE_INTEGER })

/** Pulsar's subscription types. */
export const SUBSCRIPTION_TYPES = ['Exclusive', 'Failover', 'Shared', 'Key_Shared'] as const
export type SubscriptionType = typeof SUBSCRIPTION_TYPES[number]
/** Pulsar's initial positions (default Latest). */
export const INITIAL_POSITIONS = ['Earliest', 'Latest'] as const
export type InitialPosition = typeof INITIAL_POSITIONS[number]

const batchIndex = int({ min: 0, max: MAX_MESSAGES_PER_BATCH - 1 })

/**
 * Where a reset moves a cursor: a message, the start, the end, or the first message published
 * at or after a time. `message` is inclusive by default (Pulsar's seek: the message itself is
 * delivered next); `inclusive: false` starts after it (a reader's startMessageIdInclusive off).
 * A batch index of -1 names the whole batch.
 */
export const cursorPositionSchema = union('at', {
  earliest: object({}),
  latest: object({}),
  message: object({ index: logIndex, batchIndex: int({ min: -1, max: MAX_MESSAGES_PER_BATCH - 1 }), inclusive: optional(boolean) }),
  publishTime: object({ publishTime: time })
})
export type CursorPosition = Infer<typeof cursorPositionSchema>

export const batchEntrySchema = object({
  ...batchEnvelopeSchema.fields,
  /** The leader's clock when it proposed the batch (Pulsar publishTime). */
  publishTime: time,
  /** From the `send` request: checked when the entry is applied (see previousSequenceIdSchema). */
  previousSequenceId: previousSequenceIdSchema
})
export type BatchEntry = Infer<typeof batchEntrySchema>

export const cursorEntrySchema = object({
  subscription: subscriptionName,
  /** The subscription's reset generation this update was made under; stale ones are ignored. */
  generation: int({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  /** Every message entry at or below this index is acknowledged. */
  markDelete: logIndex,
  /** Inclusive [from, to] index ranges above markDelete whose message entries are all acknowledged. */
  ackedRanges: array(tuple(logIndex, logIndex), { max: MAX_PERSISTED_ACK_RANGES }),
  /**
   * Batch-index acks: [index, acknowledged batch indexes] of batches above markDelete that are
   * partly acknowledged (a whole batch goes into ackedRanges instead). Absent = none.
   */
  batchAcks: optional(array(tuple(logIndex, array(batchIndex, { max: MAX_MESSAGES_PER_BATCH })), { max: MAX_PERSISTED_BATCH_ACKS }))
})
export type CursorEntry = Infer<typeof cursorEntrySchema>

export const subscriptionEntrySchema = union('op', {
  create: object({
    subscription: subscriptionName,
    type: literal(...SUBSCRIPTION_TYPES),
    initialPosition: literal(...INITIAL_POSITIONS)
  }),
  delete: object({ subscription: subscriptionName }),
  reset: object({ subscription: subscriptionName, position: cursorPositionSchema })
})
export type SubscriptionEntry = Infer<typeof subscriptionEntrySchema>

/** Pulsar's backlog quota policies: what happens once a backlog passes its quota. */
export const BACKLOG_QUOTA_POLICIES = ['producer_request_hold', 'producer_exception', 'consumer_backlog_eviction'] as const
export type BacklogQuotaPolicy = typeof BACKLOG_QUOTA_POLICIES[number]

/**
 * One of Pulsar's backlog quotas (its BacklogQuota JSON): `limitSize` in bytes bounds a
 * `destination_storage` quota, `limitTime` in seconds a `message_age` one; -1 = unlimited.
 */
export const backlogQuotaSchema = object({
  limitSize: int({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  limitTime: int({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  policy: literal(...BACKLOG_QUOTA_POLICIES)
})
export type BacklogQuota = Infer<typeof backlogQuotaSchema>

/** Pulsar's BacklogQuotaType keys: by the backlog's size and by its oldest message's age. Absent = no quota. */
export const backlogQuotasSchema = object({
  destination_storage: optional(backlogQuotaSchema),
  message_age: optional(backlogQuotaSchema)
})
export type BacklogQuotas = Infer<typeof backlogQuotasSchema>
export const BACKLOG_QUOTA_TYPES = ['destination_storage', 'message_age'] as const
export type BacklogQuotaType = typeof BACKLOG_QUOTA_TYPES[number]

/** Pulsar compactionThreshold: bytes of backlog since the last compaction that trigger the next one; 0 = off (the default). */
export const compactionThresholdSchema = int({ min: 0, max: Number.MAX_SAFE_INTEGER })

/** Pulsar messageTTL: unacknowledged messages older than this many seconds are acknowledged on every subscription; 0 = off. */
export const messageTTLSecondsSchema = int({ min: 0, max: Number.MAX_SAFE_INTEGER })

export const partitionConfigSchema = object({
  /** Pulsar `brokerDeduplicationEnabled`, off by default. */
  deduplication: boolean,
  /** Pulsar retention: 0 = keep nothing once acknowledged, -1 = unlimited. */
  retentionTimeMinutes: int({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  retentionSizeMB: int({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  maxMessageSize: int({ min: 1, max: MAX_MESSAGE_SIZE_CEILING }),
  /** Absent in entries from before TTL existed: off. */
  messageTTLSeconds: optional(messageTTLSecondsSchema),
  /** Absent: no quota. */
  backlogQuotas: optional(backlogQuotasSchema),
  /** Absent in entries from before compaction existed: off. */
  compactionThreshold: optional(compactionThresholdSchema)
})
export type PartitionConfig = Infer<typeof partitionConfigSchema>

export const DEFAULT_PARTITION_CONFIG: PartitionConfig = {
  deduplication: false,
  retentionTimeMinutes: 0,
  retentionSizeMB: 0,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE
}

export const trimEntrySchema = object({
  /** Drop message entries with index <= upTo (clamped so no subscription loses unacknowledged messages). */
  upTo: logIndex,
  /**
   * The compaction horizon the leader bounded `upTo` under (absent = none): a trim computed
   * before the first compaction is ignored once one applied, since it may drop what the view keeps.
   */
  compactionHorizon: optional(logIndex)
})
export type TrimEntry = Infer<typeof trimEntrySchema>

/** Topic compaction: the compacted view covers the log up to this entry's index (its horizon). */
export const compactionEntrySchema = object({})
export type CompactionEntry = Infer<typeof compactionEntrySchema>

/** Messages one `deadLetter` entry may name (Pulsar's clients dead-letter one message at a time). */
export const MAX_DEAD_LETTERS_PER_ENTRY = 1_000

/**
 * Dead letters of a subscription: applied, the named messages (batchIndex -1: every message of
 * the batch) not acknowledged yet are acknowledged and appended to the dead-letter outbox for
 * `deadLetterTopic`, each with the next outbox position; already acknowledged ones are skipped,
 * so a message enters the outbox at most once per cursor generation.
 */
export const deadLetterEntrySchema = object({
  subscription: subscriptionName,
  /** The cursor generation the request was made under; a stale one changes nothing. */
  generation: int({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  deadLetterTopic: string({ min: 1, max: MAX_TOPIC_NAME_LENGTH }),
  messages: array(tuple(logIndex, int({ min: -1, max: MAX_MESSAGES_PER_BATCH - 1 })), { max: MAX_DEAD_LETTERS_PER_ENTRY })
})
export type DeadLetterEntry = Infer<typeof deadLetterEntrySchema>

/** The dead-letter topic stored the subscription's outbox entries up to position `upTo`: they leave the outbox. */
export const deadLetterForwardedEntrySchema = object({
  subscription: subscriptionName,
  upTo: int({ min: 0, max: Number.MAX_SAFE_INTEGER })
})
export type DeadLetterForwardedEntry = Infer<typeof deadLetterForwardedEntrySchema>

export type PartitionEntry =
  | { kind: 'batch', body: BatchEntry }
  | { kind: 'cursor', body: CursorEntry }
  | { kind: 'subscription', body: SubscriptionEntry }
  | { kind: 'config', body: PartitionConfig }
  | { kind: 'trim', body: TrimEntry }
  | { kind: 'compaction', body: CompactionEntry }
  | { kind: 'deadLetter', body: DeadLetterEntry }
  | { kind: 'deadLetterForwarded', body: DeadLetterForwardedEntry }

const schemas: { [K in PartitionEntryKindName]: Schema<Extract<PartitionEntry, { kind: K }>['body']> } = {
  batch: batchEntrySchema,
  cursor: cursorEntrySchema,
  subscription: subscriptionEntrySchema,
  config: partitionConfigSchema,
  trim: trimEntrySchema,
  compaction: compactionEntrySchema,
  deadLetter: deadLetterEntrySchema,
  deadLetterForwarded: deadLetterForwardedEntrySchema
}

const kindNames = new Map<number, PartitionEntryKindName>(
  Object.entries(PartitionEntryKind).map(([name, kind]) => [kind, name as PartitionEntryKindName])
)

/** The (kind, data) pair to hand to RaftNode.propose. */
export function encodePartitionEntry (entry: PartitionEntry): { kind: number, data: Uint8Array } {
  const body = (schemas[entry.kind] as Schema<unknown>).parse(entry.body, `$.${entry.kind}`)
  return { kind: PartitionEntryKind[entry.kind], data: pack(body) }
}

/** Decodes a committed entry; throws MalformedMessageError for an unknown kind or a bad body. */
export function decodePartitionEntry (kind: number, data: Uint8Array): PartitionEntry {
  const name = kindNames.get(kind)
  if (name === undefined) throw new MalformedMessageError({ path: 'kind', reason: `unknown partition entry kind ${kind}` })
  return { kind: name, body: unpack(data, schemas[name] as Schema<never>, MAX_PARTITION_ENTRY_BYTES) } as PartitionEntry
}
