// The batches of one subscription waiting to be (re)delivered, ascending by index: negatively
// acknowledged ones, those of a consumer that left, and (Key_Shared) new batches whose key's
// consumer cannot take them yet. Each keeps its ordering domain and message count. Bounded by
// the subscription's unacked bound plus the look-ahead bound the dispatcher enforces.
import type { OrderKey } from './dispatch-policy.ts'

export interface WaitingBatch {
  key: OrderKey
  messageCount: number
}

export class ReplayQueue {
  private readonly waiting = new Map<number, WaitingBatch>()
  private order: number[] = []
  private messages = 0

  get size (): number {
    return this.order.length
  }

  get messageCount (): number {
    return this.messages
  }

  get (index: number): WaitingBatch | undefined {
    return this.waiting.get(index)
  }

  /** The waiting indexes, ascending. */
  indexes (): readonly number[] {
    return this.order
  }

  last (): number | undefined {
    return this.order[this.order.length - 1]
  }

  add (index: number, batch: WaitingBatch): void {
    if (this.waiting.has(index)) return
    this.waiting.set(index, batch)
    this.messages += batch.messageCount
    let lo = 0
    let hi = this.order.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.order[mid] < index) lo = mid + 1
      else hi = mid
    }
    this.order.splice(lo, 0, index)
  }

  remove (index: number): void {
    const batch = this.waiting.get(index)
    if (batch === undefined) return
    this.waiting.delete(index)
    this.messages -= batch.messageCount
    this.order.splice(this.order.indexOf(index), 1)
  }

  clear (): void {
    this.waiting.clear()
    this.order = []
    this.messages = 0
  }
}
