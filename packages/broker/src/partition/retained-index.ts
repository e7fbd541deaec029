// Which log entries of a partition hold messages, from the trim point on: for every retained
// batch entry its Raft index, message count, body size and publish time, plus a running sum
// of sizes. 40 bytes per batch, so positioning (earliest, seek by time), backlog counts and
// sizes, retention and backlog quotas need no disk read.
import { assert } from '../state-machine.ts'

export interface RetainedBatch {
  index: number
  messageCount: number
  bytes: number
  publishTime: number
}

export class RetainedIndex {
  private indexes: number[] = []
  private counts: number[] = []
  private sizes: number[] = []
  private times: number[] = []
  /** cumulative[p]: bytes of every batch pushed up to position p (trimmed ones included). */
  private cumulative: number[] = []
  /** Bytes of the batches dropped from the arrays by compact(): the running sum before position 0. */
  private cumulativeBase = 0
  /** Position of the first live element (elements before it were trimmed). */
  private head = 0
  private totalMessages = 0
  private totalBytes = 0

  get length (): number {
    return this.indexes.length - this.head
  }

  get messages (): number {
    return this.totalMessages
  }

  get bytes (): number {
    return this.totalBytes
  }

  push (batch: RetainedBatch): void {
    const last = this.indexes.length > this.head ? this.indexes[this.indexes.length - 1] : 0
    assert(batch.index > last, `retained index out of order: ${batch.index} after ${last}`)
    this.indexes.push(batch.index)
    this.counts.push(batch.messageCount)
    this.sizes.push(batch.bytes)
    this.times.push(batch.publishTime)
    this.cumulative.push(this.bytesBefore(this.indexes.length - 1) + batch.bytes)
    this.totalMessages += batch.messageCount
    this.totalBytes += batch.bytes
  }

  at (i: number): RetainedBatch {
    const p = this.head + i
    return { index: this.indexes[p], messageCount: this.counts[p], bytes: this.sizes[p], publishTime: this.times[p] }
  }

  /** The batch entry at exactly `index`, if retained. */
  find (index: number): RetainedBatch | undefined {
    const i = this.firstAtOrAfter(index)
    return i < this.length && this.indexes[this.head + i] === index ? this.at(i) : undefined
  }

  /** Position (0-based, among live elements) of the first batch with index >= `index`. */
  firstAtOrAfter (index: number): number {
    let lo = this.head
    let hi = this.indexes.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.indexes[mid] < index) lo = mid + 1
      else hi = mid
    }
    return lo - this.head
  }

  /** Position of the first batch published at or after `time` (length if none). */
  firstPublishedAtOrAfter (time: number): number {
    // Publish times come from successive leaders' clocks; they are not strictly monotonic
    // across leader changes, so this is a linear scan from the start on purpose.
    for (let i = this.head; i < this.times.length; i++) if (this.times[i] >= time) return i - this.head
    return this.length
  }

  /** Messages in batches with index in (after, ∞). */
  messagesAfter (after: number): number {
    let sum = 0
    for (let i = this.head + this.firstAtOrAfter(after + 1); i < this.indexes.length; i++) sum += this.counts[i]
    return sum
  }

  /** Bytes of the retained batches with index in (after, ∞). */
  bytesAfter (after: number): number {
    const p = this.head + this.firstAtOrAfter(after + 1)
    if (p >= this.indexes.length) return 0
    return this.cumulative[this.cumulative.length - 1] - this.bytesBefore(p)
  }

  /** Drops every batch with index <= upTo. */
  dropUpTo (upTo: number): void {
    while (this.head < this.indexes.length && this.indexes[this.head] <= upTo) {
      this.totalMessages -= this.counts[this.head]
      this.totalBytes -= this.sizes[this.head]
      this.head++
    }
    if (this.head > 1024 && this.head * 2 > this.indexes.length) this.compact()
  }

  toColumns (): { indexes: number[], counts: number[], sizes: number[], times: number[] } {
    return {
      indexes: this.indexes.slice(this.head),
      counts: this.counts.slice(this.head),
      sizes: this.sizes.slice(this.head),
      times: this.times.slice(this.head)
    }
  }

  static fromColumns (columns: { indexes: number[], counts: number[], sizes: number[], times: number[] }): RetainedIndex {
    const index = new RetainedIndex()
    const n = columns.indexes.length
    assert(columns.counts.length === n && columns.sizes.length === n && columns.times.length === n, 'retained index columns differ in length')
    for (let i = 0; i < n; i++) {
      index.push({ index: columns.indexes[i], messageCount: columns.counts[i], bytes: columns.sizes[i], publishTime: columns.times[i] })
    }
    return index
  }

  private compact (): void {
    this.indexes = this.indexes.slice(this.head)
    this.counts = this.counts.slice(this.head)
    this.sizes = this.sizes.slice(this.head)
    this.times = this.times.slice(this.head)
    this.cumulativeBase = this.bytesBefore(this.head)
    this.cumulative = this.cumulative.slice(this.head)
    this.head = 0
  }

  /** The running sum of sizes before array position p. */
  private bytesBefore (p: number): number {
    return p === 0 ? this.cumulativeBase : this.cumulative[p - 1]
  }
}
