// Pulsar's message TTL and backlog quotas as pure decisions over a partition's replicated state
// (the leader turns them into `cursor` entries or send refusals, so every replica agrees):
// which cursors expiry moves forward, whether a backlog is over a quota, and where
// `consumer_backlog_eviction` moves the slowest cursors. A backlog is measured as Pulsar
// measures it for quotas: from the slowest durable cursor's mark-delete to the end of the log
// (bytes for `destination_storage`, the first message's age for `message_age`); readers hold
// no backlog.
import type { BacklogQuota, BacklogQuotaType, BacklogQuotas } from '@blazar/protocol'
import type { PartitionStateMachine } from './partition-state-machine.ts'

/** Pulsar's reduction factor: size eviction brings the backlog to 90% of its quota, so it does not run again at once. */
export const BACKLOG_EVICTION_TARGET = 0.9

/** A forward move of a subscription's mark-delete (everything up to `markDelete` acknowledged). */
export interface CursorAdvance {
  subscription: string
  markDelete: number
}

/** A quota the backlog is over now. */
export interface ExceededQuota {
  type: BacklogQuotaType
  quota: BacklogQuota
  /** Bytes (destination_storage) or seconds (message_age) of the backlog. */
  value: number
  limit: number
}

/** Expiry (message TTL, an admin expireMessages): every subscription acknowledges the messages published more than `seconds` before `now`. */
export function expiryAdvances (sm: PartitionStateMachine, seconds: number, now: number): CursorAdvance[] {
  return advancesPastPublishedBefore(sm, now - seconds * 1000)
}

/** The backlog as quotas measure it: bytes above the slowest durable cursor and the age of its first batch (0 and 0 without a subscription or backlog). */
export function backlogUsage (sm: PartitionStateMachine, now: number): { bytes: number, ageSeconds: number } {
  const slowest = sm.slowestMarkDelete()
  const oldest = slowest === null ? undefined : sm.firstBatchAfter(slowest)
  if (slowest === null || oldest === undefined) return { bytes: 0, ageSeconds: 0 }
  return { bytes: sm.bytesAfter(slowest), ageSeconds: Math.max(0, Math.floor((now - oldest.publishTime) / 1000)) }
}

/** The quotas of `quotas` the partition's backlog is over at `now`, size first. */
export function exceededQuotas (sm: PartitionStateMachine, quotas: BacklogQuotas | undefined, now: number): ExceededQuota[] {
  const size = quotas?.destination_storage
  const age = quotas?.message_age
  const bySize = size !== undefined && size.limitSize >= 0
  const byAge = age !== undefined && age.limitTime >= 0
  if (!bySize && !byAge) return []
  const usage = backlogUsage(sm, now)
  const exceeded: ExceededQuota[] = []
  if (bySize && usage.bytes > size.limitSize) exceeded.push({ type: 'destination_storage', quota: size, value: usage.bytes, limit: size.limitSize })
  if (byAge && usage.ageSeconds > age.limitTime) exceeded.push({ type: 'message_age', quota: age, value: usage.ageSeconds, limit: age.limitTime })
  return exceeded
}

/**
 * consumer_backlog_eviction of one exceeded quota: the oldest backlog of the slowest cursors is
 * acknowledged. By size, every cursor below the point from which the log holds at most
 * BACKLOG_EVICTION_TARGET of the limit moves up to it; by age, every cursor moves past the
 * messages older than the limit.
 */
export function evictionAdvances (sm: PartitionStateMachine, exceeded: ExceededQuota, now: number): CursorAdvance[] {
  if (exceeded.type === 'message_age') return advancesPastPublishedBefore(sm, now - exceeded.limit * 1000)
  const point = sm.lowestIndexFitting(Math.floor(exceeded.limit * BACKLOG_EVICTION_TARGET))
  const advances: CursorAdvance[] = []
  for (const cursor of sm.subscriptions()) if (cursor.markDelete < point) advances.push({ subscription: cursor.subscription, markDelete: point })
  return advances
}

function advancesPastPublishedBefore (sm: PartitionStateMachine, cutoff: number): CursorAdvance[] {
  const advances: CursorAdvance[] = []
  for (const cursor of sm.subscriptions()) {
    const last = sm.lastPublishedBefore(cursor.markDelete, cutoff)
    if (last !== null && last > cursor.markDelete) advances.push({ subscription: cursor.subscription, markDelete: last })
  }
  return advances
}
