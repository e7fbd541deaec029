// The queue oracles of the broker workload, fed by the hosting layer (every applied entry and
// cursor state of every replica) and by the simulated clients (sends, deliveries, acks):
//   no lost message     a send acknowledged with a MessageId finds its own batch committed at
//                       that index (checked when either side is seen first); at the end every
//                       acknowledged send is in the log and was delivered to every
//                       subscription, and no cursor covers a batch no consumer acknowledged;
//   no phantom message  every committed and every delivered batch was sent by a producer, with
//                       the same bytes, and not by a send that failed definitely (all attempts
//                       refused before anything was proposed); a delivery names the committed
//                       batch at its index;
//   order               an Exclusive subscription's first deliveries arrive in index order and
//                       skip no committed batch; one producer's acknowledged MessageIds grow
//                       with its sequence ids; with deduplication on, no batch is stored twice;
//   cursors             on every replica, a subscription's replicated mark-delete never moves
//                       back and its generation never changes, except by a seek of a
//                       subscription whose consumer seeks (`allowSeeks`);
//   seek                once a seek to S is answered, the subscription's consumers receive
//                       nothing below S, and the first deliveries from then on are the stored
//                       batches from S in index order, none skipped (the Exclusive order check,
//                       restarted at S), until all are delivered again;
//   liveness            (BrokerWorkload.drain) after healing, everything stored is delivered
//                       and acknowledged within a bound.
import type { LogEntry } from '@blazar/env'
import { PartitionEntryKind, decodePartitionEntry, type DeliveredEntry, type SubscriptionType } from '@blazar/protocol'
import type { CursorState } from '@blazar/broker'
import { hashBytes } from './hash.ts'
import type { InvariantName } from './oracles.ts'
import { describeEntry, sendKey, type LoggedEntry, type SendRecord, type SubscriptionRecord } from './queue-records.ts'

export type Report = (invariant: InvariantName, message: string) => void

export class QueueOracles {
  readonly report: Report
  readonly sends = new Map<string, SendRecord>()
  readonly subscriptions = new Map<string, SubscriptionRecord>()
  private readonly log = new Map<number, LoggedEntry>()
  private highestSeen = 0
  /** Indexes of stored batches, increasing. */
  readonly storedIndexes: number[] = []
  private readonly storedBySend = new Map<string, number[]>()
  private readonly ackedAt = new Map<number, SendRecord>()
  private readonly highestStoredSequence = new Map<string, number>()
  /** Per producer, its acknowledged sends (with an index) in sequence order. */
  private readonly ackedInSendOrder = new Map<string, SendRecord[]>()
  private deduplication = false
  /** Per node (live incarnation): subscription -> last cursor seen after an apply. */
  private readonly replicaCursors = new Map<string, Map<string, { generation: number, markDelete: number }>>()
  /** Subscriptions whose consumers seek: their cursors may be reset. */
  private readonly seeking = new Set<string>()

  constructor (report: Report) {
    this.report = report
  }

  subscription (name: string, type: SubscriptionType): SubscriptionRecord {
    let record = this.subscriptions.get(name)
    if (record === undefined) {
      record = { name, type, delivered: new Set(), undeliveredFrom: 0, highestFirstDelivery: 0, acked: new Set(), ackedParts: new Map(), cumulativeTo: 0, highestFirstByKey: new Map() }
      this.subscriptions.set(name, record)
    }
    return record
  }

  /** The subscription's consumer seeks: a reset of its cursor is no regression. */
  allowSeeks (name: string): void {
    this.seeking.add(name)
  }

  /** The committed batch at `index`, as first applied. */
  loggedBatch (index: number): LoggedEntry['batch'] | undefined {
    return this.log.get(index)?.batch ?? undefined
  }

  // ---- the replicas ----------------------------------------------------------------------

  /** A replica applied `entry`; the first replica to apply an index defines the committed log. */
  entryApplied (entry: LogEntry): void {
    if (entry.index <= this.highestSeen) return
    // Replicas apply in index order, so indexes are first seen in increasing order.
    this.highestSeen = entry.index
    const logged: LoggedEntry = { index: entry.index, kind: entry.kind, batch: null }
    if (entry.kind === PartitionEntryKind.config) {
      const decoded = decodePartitionEntry(entry.kind, entry.data)
      if (decoded.kind === 'config') this.deduplication = decoded.body.deduplication
    } else if (entry.kind === PartitionEntryKind.batch) {
      const decoded = decodePartitionEntry(entry.kind, entry.data)
      if (decoded.kind === 'batch') {
        const body = decoded.body
        const key = sendKey(body.producerName, body.firstSequenceId)
        const highest = this.highestStoredSequence.get(body.producerName) ?? -1
        // A batch naming a predecessor the partition has not stored is refused when applied (OUT_OF_ORDER_SEQUENCE).
        const outOfOrder = body.previousSequenceId !== undefined && highest < body.previousSequenceId
        const stored = !outOfOrder && (!this.deduplication || body.lastSequenceId > highest)
        logged.batch = { key, producer: body.producerName, firstSequenceId: body.firstSequenceId, lastSequenceId: body.lastSequenceId, bodyHash: hashBytes(body.body), stored }
        if (stored) this.batchStored(entry.index, logged.batch)
      }
    }
    this.log.set(entry.index, logged)
    const acked = this.ackedAt.get(entry.index)
    if (acked !== undefined && logged.batch?.key !== acked.key) {
      this.report('queue-lost-message', `send ${acked.key} was acknowledged as 0:${entry.index}:0, but the committed entry at ${entry.index} is ${describeEntry(logged)}`)
    }
  }

  private batchStored (index: number, batch: NonNullable<LoggedEntry['batch']>): void {
    this.storedIndexes.push(index)
    this.highestStoredSequence.set(batch.producer, Math.max(batch.lastSequenceId, this.highestStoredSequence.get(batch.producer) ?? -1))
    const send = this.sends.get(batch.key)
    if (send === undefined || send.bodyHash !== batch.bodyHash || send.lastSequenceId !== batch.lastSequenceId) {
      this.report('queue-phantom-message', `the batch committed at ${index} (${batch.key}..${batch.lastSequenceId}) matches no batch a producer sent`)
      return
    }
    if (send.status === 'failed' && send.definite) {
      this.report('queue-phantom-message', `send ${send.key} failed definitely (every attempt refused before proposing) but is committed at ${index}`)
    }
    const earlier = this.storedBySend.get(batch.key)
    if (earlier === undefined) this.storedBySend.set(batch.key, [index])
    else {
      if (this.deduplication) this.report('queue-order', `with deduplication on, send ${batch.key} is stored twice: at ${earlier[0]} and ${index}`)
      earlier.push(index)
    }
  }

  /** A replica (re)started or restored a snapshot: its cursors start over. */
  replicaReset (node: string): void {
    this.replicaCursors.delete(node)
  }

  /** The cursors of `node`'s replica after it applied a cursor or subscription entry. */
  cursorsApplied (node: string, index: number, cursors: readonly CursorState[]): void {
    let seen = this.replicaCursors.get(node)
    if (seen === undefined) this.replicaCursors.set(node, seen = new Map())
    for (const cursor of cursors) {
      const previous = seen.get(cursor.subscription)
      if (previous !== undefined) {
        if (cursor.generation !== previous.generation) {
          if (!this.seeking.has(cursor.subscription)) this.report('queue-cursor-regression', `${node}: subscription ${cursor.subscription} was reset (generation ${previous.generation} -> ${cursor.generation}) at ${index}, but no client asked for a seek`)
        } else if (cursor.markDelete < previous.markDelete) {
          this.report('queue-cursor-regression', `${node}: the mark-delete of ${cursor.subscription} moved back from ${previous.markDelete} to ${cursor.markDelete} at ${index}`)
        }
      }
      seen.set(cursor.subscription, { generation: cursor.generation, markDelete: cursor.markDelete })
    }
  }

  // ---- the clients -----------------------------------------------------------------------

  sendStarted (send: SendRecord): void {
    this.sends.set(send.key, send)
  }

  /** The producer got a `send` result: `messageIndex` null for a deduplicated batch. */
  sendAcked (send: SendRecord, messageIndex: number | null, time: number): void {
    send.status = 'acked'
    send.messageIndex = messageIndex
    send.completedTime = time
    if (messageIndex === null) {
      if (!this.deduplication) this.report('queue-phantom-message', `send ${send.key} was answered as a duplicate with deduplication off`)
      return
    }
    this.checkSendOrder(send, messageIndex)
    if (messageIndex <= this.highestSeen) {
      const logged = this.log.get(messageIndex)
      if (logged?.batch?.key !== send.key) {
        this.report('queue-lost-message', `send ${send.key} was acknowledged as 0:${messageIndex}:0, but the committed entry there is ${describeEntry(logged)}`)
      }
    } else {
      this.ackedAt.set(messageIndex, send)
    }
  }

  /**
   * Per producer, acknowledged sends are stored in send order (Pulsar's guarantee): compared
   * with the acknowledged sends just before and after it in sequence order, whatever order the
   * answers came in (a pipelining producer has several sends open at once).
   */
  private checkSendOrder (send: SendRecord, messageIndex: number): void {
    let acked = this.ackedInSendOrder.get(send.producer)
    if (acked === undefined) this.ackedInSendOrder.set(send.producer, acked = [])
    let at = acked.length
    while (at > 0 && acked[at - 1].firstSequenceId > send.firstSequenceId) at--
    const before = acked[at - 1]
    const after = acked[at]
    if (before !== undefined && before.messageIndex !== null && before.messageIndex >= messageIndex) {
      this.report('queue-order', `producer ${send.producer}: send ${send.key} was acknowledged at ${messageIndex}, not after its earlier send ${before.key} at ${before.messageIndex}`)
    }
    if (after !== undefined && after.messageIndex !== null && after.messageIndex <= messageIndex) {
      this.report('queue-order', `producer ${send.producer}: send ${send.key} was acknowledged at ${messageIndex}, not before its later send ${after.key} at ${after.messageIndex}`)
    }
    acked.splice(at, 0, send)
  }

  /** The producer gave up on a send after its send timeout. */
  sendFailed (send: SendRecord, time: number): void {
    send.status = 'failed'
    send.completedTime = time
    const stored = this.storedBySend.get(send.key)
    if (send.definite && stored !== undefined) {
      this.report('queue-phantom-message', `send ${send.key} failed definitely (every attempt refused before proposing) but is committed at ${stored[0]}`)
    }
  }

  /**
   * A seek of an Exclusive subscription was answered: the cursor is reset to deliver again
   * from the stored batch `from` (the first at or after it). What was delivered from there on
   * must be delivered again, in order, and what was acknowledged from there on is no longer;
   * everything below it is acknowledged by the reset, as a cumulative ack would.
   */
  seekAnswered (subscription: SubscriptionRecord, from: number): void {
    subscription.seekFloor = from
    for (const index of [...subscription.delivered]) if (index >= from) subscription.delivered.delete(index)
    for (const index of [...subscription.acked]) if (index >= from) subscription.acked.delete(index)
    for (const index of [...subscription.ackedParts.keys()]) if (index >= from) subscription.ackedParts.delete(index)
    subscription.cumulativeTo = from - 1
    subscription.highestFirstDelivery = Math.min(subscription.highestFirstDelivery, from - 1)
    let position = 0
    while (position < this.storedIndexes.length && this.storedIndexes[position] < from) position++
    subscription.undeliveredFrom = Math.min(subscription.undeliveredFrom, position)
  }

  /**
   * A consumer acknowledged messages `batchIndexes` of the batch at `index` (of `messageCount`
   * messages); the batch counts as acknowledged once every message is, by whichever consumers.
   */
  messagesAcknowledged (subscription: SubscriptionRecord, index: number, batchIndexes: Iterable<number>, messageCount: number): void {
    if (subscription.acked.has(index)) return
    let parts = subscription.ackedParts.get(index)
    if (parts === undefined) subscription.ackedParts.set(index, parts = new Set())
    for (const batchIndex of batchIndexes) parts.add(batchIndex)
    if (parts.size < messageCount) return
    subscription.ackedParts.delete(index)
    subscription.acked.add(index)
  }

  /** A consumer's current session received `entry`. */
  delivered (subscription: SubscriptionRecord, consumer: string, entry: DeliveredEntry): void {
    const index = entry.messageId.index
    const logged = this.log.get(index)
    const batch = entry.batch
    const key = sendKey(batch.producerName, batch.firstSequenceId)
    if (logged?.batch?.key !== key || !logged.batch.stored || logged.batch.lastSequenceId !== batch.lastSequenceId || logged.batch.bodyHash !== hashBytes(batch.body)) {
      this.report('queue-phantom-message', `${consumer} (${subscription.name}) received ${key} as 0:${index}, but the committed entry there is ${describeEntry(logged)}`)
      return
    }
    const send = this.sends.get(key)
    if (send === undefined) {
      this.report('queue-phantom-message', `${consumer} (${subscription.name}) received ${key}, which no producer sent`)
      return
    }
    if (send.status === 'failed' && send.definite) {
      this.report('queue-phantom-message', `${consumer} (${subscription.name}) received ${key}, whose send failed definitely (every attempt refused before proposing)`)
      return
    }
    if (subscription.seekFloor !== undefined && index < subscription.seekFloor) {
      this.report('queue-seek', `${consumer} (${subscription.name}) received ${key} at ${index} after a seek to ${subscription.seekFloor} was answered`)
      return
    }
    if (subscription.delivered.has(index)) return
    if (subscription.type === 'Exclusive') {
      if (index < subscription.highestFirstDelivery) {
        this.report('queue-order', `${consumer} (${subscription.name}) first received ${index} after ${subscription.highestFirstDelivery}`)
      }
      const stored = this.storedIndexes
      while (subscription.undeliveredFrom < stored.length && subscription.delivered.has(stored[subscription.undeliveredFrom])) subscription.undeliveredFrom++
      const skipped = stored[subscription.undeliveredFrom]
      if (skipped !== undefined && skipped < index) {
        this.report('queue-order', `${consumer} (${subscription.name}) first received ${index} before the committed batch at ${skipped}`)
      }
    }
    if (subscription.type === 'Key_Shared' && batch.key !== undefined) {
      // Per key, Key_Shared delivers in log order: a key's batch is never first delivered after a later one of that key.
      const highest = subscription.highestFirstByKey.get(batch.key) ?? 0
      if (index < highest) this.report('queue-order', `${consumer} (${subscription.name}) first received ${index} of key ${batch.key} after ${highest} of that key`)
      subscription.highestFirstByKey.set(batch.key, Math.max(highest, index))
    }
    subscription.delivered.add(index)
    subscription.highestFirstDelivery = Math.max(subscription.highestFirstDelivery, index)
  }

  // ---- the end of the run ----------------------------------------------------------------

  /** Whether every stored batch was delivered to every subscription. */
  allDelivered (): boolean {
    for (const subscription of this.subscriptions.values()) {
      for (const index of this.storedIndexes) if (!subscription.delivered.has(index)) return false
    }
    return true
  }

  /**
   * After the recovery phase: every acknowledged send is in the log and was delivered to every
   * subscription, and the final cursors (`cursorOf`, from the leader) cover only batches the
   * consumers acknowledged. Returns the first problem as [invariant, message], or null.
   */
  finalCheck (cursorOf: (subscription: string) => CursorState | undefined): [InvariantName, string] | null {
    for (const send of this.sends.values()) {
      if (send.status !== 'acked') continue
      const stored = this.storedBySend.get(send.key)
      if (stored === undefined) return ['queue-lost-message', `acknowledged send ${send.key}${send.messageIndex === null ? '' : ` (0:${send.messageIndex}:0)`} is not in the committed log`]
      for (const subscription of this.subscriptions.values()) {
        if (stored.some((index) => subscription.delivered.has(index))) continue
        const cursor = cursorOf(subscription.name)
        const covered = cursor !== undefined && stored.every((index) => isCovered(cursor, index))
        return covered
          ? ['queue-lost-message', `acknowledged send ${send.key} (stored at ${stored.join(',')}) was never delivered to ${subscription.name}, whose cursor passed it`]
          : ['queue-liveness', `acknowledged send ${send.key} (stored at ${stored.join(',')}) was not delivered to ${subscription.name} within the recovery bound`]
      }
    }
    for (const subscription of this.subscriptions.values()) {
      const cursor = cursorOf(subscription.name)
      if (cursor === undefined) return ['queue-lost-message', `subscription ${subscription.name} is missing on the leader`]
      for (const index of this.storedIndexes) {
        if (isCovered(cursor, index) && index > subscription.cumulativeTo && !subscription.acked.has(index)) {
          return ['queue-lost-message', `the cursor of ${subscription.name} (mark-delete ${cursor.markDelete}) covers the batch at ${index}, which no consumer acknowledged`]
        }
      }
    }
    return null
  }

  stats (): { sends: number, acked: number, failedDefinite: number, failedUnknown: number, stored: number } {
    let acked = 0
    let failedDefinite = 0
    let failedUnknown = 0
    for (const send of this.sends.values()) {
      if (send.status === 'acked') acked++
      else if (send.status === 'failed') {
        if (send.definite) failedDefinite++
        else failedUnknown++
      }
    }
    return { sends: this.sends.size, acked, failedDefinite, failedUnknown, stored: this.storedIndexes.length }
  }
}

function isCovered (cursor: CursorState, index: number): boolean {
  if (index <= cursor.markDelete) return true
  return cursor.ackedRanges.some(([from, to]) => from <= index && index <= to)
}
