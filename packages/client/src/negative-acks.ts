// Negative acknowledgements wait their redelivery delay (a constant negativeAckRedeliveryDelayMs,
// Pulsar's 60 s, or a RedeliveryBackoff of the message's redelivery count) and are then handed
// to `redeliver` (which groups them per partition, or parks them in the dead-letter topic).
// At most MAX_PENDING_NACKS wait; beyond that every waiting one is sent at once instead of
// growing the set. One timer, set for the earliest due nack.
import type { MessageId } from '@blazar/protocol'
import { messageKey } from './message.ts'
import type { RedeliveryBackoff } from './redelivery-backoff.ts'
import type { TimerHandle, Timers } from './timers.ts'

export const MAX_PENDING_NACKS = 10_000

export class NegativeAcks {
  private readonly backoff: RedeliveryBackoff
  private readonly timers: Timers
  private readonly redeliver: (ids: MessageId[]) => void
  private readonly pending = new Map<string, { id: MessageId, dueAt: number }>()
  private timer: { handle: TimerHandle, dueAt: number } | undefined

  constructor (options: { backoff: RedeliveryBackoff, timers: Timers, redeliver: (ids: MessageId[]) => void }) {
    this.backoff = options.backoff
    this.timers = options.timers
    this.redeliver = options.redeliver
  }

  get size (): number {
    return this.pending.size
  }

  /** `redeliveryCount`: how often the message was redelivered already (the backoff's input). */
  add (id: MessageId, redeliveryCount = 0): void {
    const key = messageKey(id)
    const dueAt = this.timers.now() + this.backoff.next(redeliveryCount)
    this.pending.delete(key)
    this.pending.set(key, { id, dueAt })
    if (this.pending.size > MAX_PENDING_NACKS) {
      this.fire(Number.POSITIVE_INFINITY)
    } else if (this.timer === undefined || dueAt < this.timer.dueAt) {
      this.timer?.handle.cancel()
      this.timer = undefined
      this.schedule()
    }
  }

  /** Forgets a nack (the message was acknowledged after all, or a seek moved the cursor). */
  remove (id: MessageId): void {
    this.pending.delete(messageKey(id))
  }

  clear (): void {
    this.pending.clear()
    this.timer?.handle.cancel()
    this.timer = undefined
  }

  private schedule (): void {
    if (this.timer !== undefined || this.pending.size === 0) return
    let dueAt = Number.POSITIVE_INFINITY
    for (const entry of this.pending.values()) dueAt = Math.min(dueAt, entry.dueAt)
    const handle = this.timers.setTimeout(() => {
      this.timer = undefined
      this.fire(this.timers.now())
    }, dueAt - this.timers.now())
    this.timer = { handle, dueAt }
  }

  /** Hands over every nack due by `now`, in the order they were added. */
  private fire (now: number): void {
    const due: MessageId[] = []
    for (const [key, entry] of this.pending) {
      if (entry.dueAt > now) continue
      due.push(entry.id)
      this.pending.delete(key)
    }
    if (due.length > 0) this.redeliver(due)
    this.schedule()
  }
}
