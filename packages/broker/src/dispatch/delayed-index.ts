// The batches of one subscription that wait for their `deliverAtTime` (Pulsar delayed
// delivery; Shared and Key_Shared only), in the leader's memory: ordered by time, bounded
// (`maxDelayedMessages`), and rebuilt on a new leader simply by reading the log from the
// replicated cursor (a batch read before its time is parked here again). One timer, for the
// earliest; when it fires the due batches go to the replay queue.
import type { Env, TimerHandle } from '@blazar/env'
import type { OrderKey } from './dispatch-policy.ts'

export interface DelayedBatch {
  index: number
  deliverAt: number
  key: OrderKey
  messageCount: number
}

export class DelayedIndex {
  private readonly env: Env
  private readonly due: (batches: DelayedBatch[]) => void
  /** Ascending by (deliverAt, index). */
  private batches: DelayedBatch[] = []
  private readonly indexes = new Set<number>()
  private timer: TimerHandle | null = null
  private timerAt = Number.POSITIVE_INFINITY

  constructor (env: Env, due: (batches: DelayedBatch[]) => void) {
    this.env = env
    this.due = due
  }

  get size (): number {
    return this.batches.length
  }

  has (index: number): boolean {
    return this.indexes.has(index)
  }

  /** The earliest delivery time waiting, if any. */
  get nextDeliverAt (): number | undefined {
    return this.batches[0]?.deliverAt
  }

  add (batch: DelayedBatch): void {
    if (this.indexes.has(batch.index)) return
    let lo = 0
    let hi = this.batches.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const other = this.batches[mid]
      if (other.deliverAt < batch.deliverAt || (other.deliverAt === batch.deliverAt && other.index < batch.index)) lo = mid + 1
      else hi = mid
    }
    this.batches.splice(lo, 0, batch)
    this.indexes.add(batch.index)
    this.schedule()
  }

  /** The batch was acknowledged (or the cursor moved past it): it no longer waits. */
  remove (index: number): void {
    if (!this.indexes.delete(index)) return
    this.batches = this.batches.filter((batch) => batch.index !== index)
  }

  clear (): void {
    this.batches = []
    this.indexes.clear()
    this.cancelTimer()
  }

  stop (): void {
    this.clear()
  }

  private schedule (): void {
    const next = this.batches[0]?.deliverAt
    if (next === undefined || next >= this.timerAt) return
    this.cancelTimer()
    this.timerAt = next
    this.timer = this.env.clock.setTimer(Math.max(0, next - this.env.clock.now()), () => {
      this.timer = null
      this.timerAt = Number.POSITIVE_INFINITY
      this.release()
    })
  }

  private release (): void {
    const now = this.env.clock.now()
    let n = 0
    while (n < this.batches.length && this.batches[n].deliverAt <= now) n++
    const due = this.batches.slice(0, n)
    this.batches = this.batches.slice(n)
    for (const batch of due) this.indexes.delete(batch.index)
    this.schedule()
    if (due.length > 0) this.due(due)
  }

  private cancelTimer (): void {
    if (this.timer !== null) this.env.clock.clearTimer(this.timer)
    this.timer = null
    this.timerAt = Number.POSITIVE_INFINITY
  }
}
