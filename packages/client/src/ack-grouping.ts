// Acknowledgement grouping for one partition consumer, as Pulsar's clients do it: individual
// acks collect in a set and the newest cumulative ack replaces older ones; everything leaves
// as one `ack` request per type when `acknowledgementsGroupTimeMs` has passed since the first
// pending ack, when MAX_ACK_GROUP_SIZE individual acks wait, or on flush() (close, seek).
// With a group time of 0 every ack is sent at once. While the partition re-subscribes, grouped
// acks stay pending and leave once it is attached again (as Pulsar's tracker waits for its
// connection). Owns the pending acks of its partition.
import type { MessageId } from '@blazar/protocol'
import type { TimerHandle, Timers } from './timers.ts'

/** Pulsar's acknowledgementsGroupTimeMicros default (100 ms). */
export const DEFAULT_ACKNOWLEDGEMENTS_GROUP_TIME_MS = 100
/** Pulsar's maxAcknowledgmentGroupSize: individual acks waiting before they are sent at once. */
export const MAX_ACK_GROUP_SIZE = 1_000
/**
 * Individual acks kept pending while the partition re-subscribes; beyond it the oldest are
 * dropped (the node redelivers them: a duplicate, never a loss).
 */
export const MAX_PENDING_ACKS = 100_000

export type AckType = 'Individual' | 'Cumulative'

export type AckSender = (ids: readonly MessageId[], ackType: AckType) => Promise<void>

export class AckGroupingTracker {
  private readonly groupTimeMs: number
  private readonly timers: Timers
  private readonly send: AckSender
  private readonly attached: () => boolean
  private readonly individual = new Map<string, MessageId>()
  private cumulative: MessageId | undefined
  private timer: TimerHandle | undefined

  constructor (options: { groupTimeMs: number, timers: Timers, send: AckSender, attached: () => boolean }) {
    this.groupTimeMs = options.groupTimeMs
    this.timers = options.timers
    this.send = options.send
    this.attached = options.attached
  }

  /** Acks waiting to be sent. */
  get pending (): number {
    return this.individual.size + (this.cumulative === undefined ? 0 : 1)
  }

  /**
   * Queues an ack. Without grouping it is sent now and the promise settles with the request;
   * with grouping it resolves once queued (Pulsar's acknowledgeAsync does not wait for the group).
   */
  add (id: MessageId, ackType: AckType): Promise<void> {
    if (this.groupTimeMs === 0) return this.send([id], ackType)
    if (ackType === 'Cumulative') {
      if (this.cumulative === undefined || id.compare(this.cumulative) > 0) this.cumulative = id
      for (const [key, pending] of this.individual) if (pending.compare(id) <= 0) this.individual.delete(key)
    } else if (this.cumulative === undefined || id.compare(this.cumulative) > 0) {
      this.individual.set(id.toString(), id)
      if (this.individual.size > MAX_PENDING_ACKS) this.individual.delete(this.individual.keys().next().value as string)
    }
    if (this.individual.size >= MAX_ACK_GROUP_SIZE && this.attached()) this.flush().catch(() => {})
    else this.schedule()
    return Promise.resolve()
  }

  /** Whether `id` waits in a group (acked, not sent yet). */
  has (id: MessageId): boolean {
    return this.individual.has(id.toString()) || (this.cumulative !== undefined && id.compare(this.cumulative) <= 0)
  }

  /**
   * Sends every pending ack now; resolves once the node answered them. While the partition is
   * not attached they stay pending (the next group time tries again).
   */
  async flush (): Promise<void> {
    this.timer?.cancel()
    this.timer = undefined
    if (!this.attached()) {
      this.schedule()
      return
    }
    const individual = [...this.individual.values()]
    const cumulative = this.cumulative
    this.individual.clear()
    this.cumulative = undefined
    const sends: Array<Promise<void>> = []
    if (cumulative !== undefined) sends.push(this.send([cumulative], 'Cumulative'))
    for (let at = 0; at < individual.length; at += MAX_ACK_GROUP_SIZE) sends.push(this.send(individual.slice(at, at + MAX_ACK_GROUP_SIZE), 'Individual'))
    await Promise.all(sends)
  }

  private schedule (): void {
    if (this.pending === 0) return
    this.timer ??= this.timers.setTimeout(() => {
      this.timer = undefined
      this.flush().catch(() => {})
    }, this.groupTimeMs)
  }

  /** Forgets what is pending without sending it (its topic was dropped). */
  clear (): void {
    this.timer?.cancel()
    this.timer = undefined
    this.individual.clear()
    this.cumulative = undefined
  }
}
