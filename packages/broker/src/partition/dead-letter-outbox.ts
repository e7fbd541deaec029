// The partition's replicated dead-letter outbox (state machine state, in snapshots): messages a
// `deadLetter` entry acknowledged for a subscription and that the leader has still to publish
// to their dead-letter topic. Each entry has a position from one counter per partition, so
// positions only grow, per subscription too (also across a subscription deleted and created
// again): they are the sequence ids of the forwarder's producer, and the dead-letter topic's
// deduplication drops a resend. An entry names its message in the log (index, batch index)
// rather than holding its payload: retention never trims at or above the lowest index still
// in the outbox (`lowestIndex`), so the forwarder reads the message from the log and memory
// stays at one small record per entry, at most MAX_DEAD_LETTER_OUTBOX_ENTRIES of them.
import { LimitExceededError } from '@blazar/protocol'

/** Unforwarded dead letters a partition holds; a `deadLetter` entry past it is rejected (LIMIT_EXCEEDED) and acknowledges nothing. */
export const MAX_DEAD_LETTER_OUTBOX_ENTRIES = 10_000

/** One dead letter waiting to be forwarded. */
export interface OutboxEntry {
  /** Monotone per partition: the sequence id it is published with. */
  position: number
  subscription: string
  deadLetterTopic: string
  /** The message in this partition's log. */
  index: number
  batchIndex: number
}

export interface OutboxState {
  /** The position the next entry gets. */
  nextPosition: number
  entries: OutboxEntry[]
}

export class DeadLetterOutbox {
  private nextPosition: number
  /** In position order. */
  private entries: OutboxEntry[]

  constructor (state: OutboxState = { nextPosition: 1, entries: [] }) {
    this.nextPosition = state.nextPosition
    this.entries = [...state.entries]
  }

  get size (): number {
    return this.entries.length
  }

  /** Throws LimitExceededError unless `count` more entries fit. */
  checkRoom (count: number): void {
    if (this.entries.length + count > MAX_DEAD_LETTER_OUTBOX_ENTRIES) {
      throw new LimitExceededError({ limit: 'dead letters waiting to be forwarded', value: this.entries.length + count, max: MAX_DEAD_LETTER_OUTBOX_ENTRIES })
    }
  }

  append (subscription: string, deadLetterTopic: string, index: number, batchIndex: number): OutboxEntry {
    const entry: OutboxEntry = { position: this.nextPosition++, subscription, deadLetterTopic, index, batchIndex }
    this.entries.push(entry)
    return entry
  }

  /** Drops the subscription's entries at or below `upTo`; returns how many. */
  forwarded (subscription: string, upTo: number): number {
    const before = this.entries.length
    this.entries = this.entries.filter((entry) => entry.subscription !== subscription || entry.position > upTo)
    return before - this.entries.length
  }

  /** The subscription's entries in position order (all subscriptions' without one). */
  pending (subscription?: string): OutboxEntry[] {
    return subscription === undefined ? [...this.entries] : this.entries.filter((entry) => entry.subscription === subscription)
  }

  /** The subscriptions with entries waiting. */
  subscriptions (): string[] {
    return [...new Set(this.entries.map((entry) => entry.subscription))]
  }

  /** The lowest log index an entry names (retention keeps it and everything above); null when empty. */
  lowestIndex (): number | null {
    let lowest: number | null = null
    for (const entry of this.entries) lowest = lowest === null ? entry.index : Math.min(lowest, entry.index)
    return lowest
  }

  toState (): OutboxState {
    return { nextPosition: this.nextPosition, entries: [...this.entries] }
  }
}
