// Negative acknowledgements wait negativeAckRedeliveryDelayMs (Pulsar: 60 s) and are then sent
// as `redeliver` requests (grouped per partition by the consumer). At most MAX_PENDING_NACKS
// wait; beyond that every waiting one is sent at once instead of growing the set.
import type { MessageId } from '@blazar/protocol'
import type { TimerHandle, Timers } from './timers.ts'

export const MAX_PENDING_NACKS = 10_000

export class NegativeAcks {
  private readonly delayMs: number
  private readonly timers: Timers
  private readonly redeliver: (ids: MessageId[]) => void
  private readonly pending = new Map<string, { id: MessageId, dueAt: number }>()
  private timer: TimerHandle | undefined

  constructor (options: { delayMs: number, timers: Timers, redeliver: (ids: MessageId[]) => void }) {
    this.delayMs = options.delayMs
    this.timers = options.timers
    this.redeliver = options.redeliver
  }

  get size (): number {
    return this.pending.size
  }

  add (id: MessageId): void {
    const key = id.toString()
    this.pending.delete(key)
    this.pending.set(key, { id, dueAt: this.timers.now() + this.delayMs })
    if (this.pending.size > MAX_PENDING_NACKS) this.fire(Number.POSITIVE_INFINITY)
    else this.schedule()
  }

  clear (): void {
    this.pending.clear()
    this.timer?.cancel()
    this.timer = undefined
  }

  private schedule (): void {
    if (this.timer !== undefined || this.pending.size === 0) return
    const first = this.pending.values().next().value as { dueAt: number }
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined
      this.fire(this.timers.now())
    }, first.dueAt - this.timers.now())
  }

  /** Sends every nack due by `now` (insertion order is due order: the delay is constant). */
  private fire (now: number): void {
    const due: MessageId[] = []
    for (const [key, entry] of this.pending) {
      if (entry.dueAt > now) break
      due.push(entry.id)
      this.pending.delete(key)
    }
    if (due.length > 0) this.redeliver(due)
    this.schedule()
  }
}
