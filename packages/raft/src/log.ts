// RaftLog: the core's view of its log. Durable and buffered entries live in RaftStorage; this
// class adds (1) the writes of the current input that the shell has not yet handed to storage
// (a pending truncation point and pending entries) and (2) a bounded cache of recent entries so
// replication and apply rarely read storage. Invariant: the cache is contiguous and ends at
// lastIndex(); pending entries are the cache's tail.
import type { LogEntry, RaftStorage } from '@blazar/env'
import { assert } from './errors.ts'

export interface LogWrites {
  truncateFrom: number | undefined
  entries: LogEntry[]
}

export class RaftLog {
  private readonly storage: RaftStorage
  private readonly cacheLimitBytes: number
  /** cache[head] holds index cacheStart; evicted slots before head are dropped in bulk. */
  private cache: LogEntry[] = []
  private head = 0
  private cacheStart: number
  private cacheBytes = 0
  private pendingStart: number | undefined
  private pendingTruncate: number | undefined

  constructor (storage: RaftStorage, cacheLimitBytes: number) {
    this.storage = storage
    this.cacheLimitBytes = cacheLimitBytes
    this.cacheStart = storage.lastIndex() + 1
  }

  firstIndex (): number {
    return this.storage.firstIndex()
  }

  lastIndex (): number {
    return this.cacheStart + this.cache.length - this.head - 1
  }

  lastTerm (): number {
    const term = this.termAt(this.lastIndex())
    assert(term !== undefined, `no term for last index ${this.lastIndex()}`)
    return term
  }

  /** Term at `index`; undefined if compacted away (except the snapshot index) or beyond the end. */
  termAt (index: number): number | undefined {
    if (index >= this.cacheStart) return this.cache[this.head + index - this.cacheStart]?.term
    if (index === 0) return 0
    return this.storage.termAt(index)
  }

  /** Room in storage for entries about to be appended; throws the storage's typed refusal (backpressure, a limit) before any effect. */
  reserve (entries: readonly LogEntry[]): void {
    this.storage.reserve(entries)
  }

  matchTerm (index: number, term: number): boolean {
    return this.termAt(index) === term
  }

  /** Entries [from, toExclusive) up to maxBytes (at least one) if all are cached; otherwise undefined. */
  cached (from: number, toExclusive: number, maxBytes: number): LogEntry[] | undefined {
    if (from < this.cacheStart || from >= toExclusive) return from >= toExclusive ? [] : undefined
    const end = Math.min(toExclusive, this.lastIndex() + 1)
    const out: LogEntry[] = []
    let bytes = 0
    for (let i = from; i < end; i++) {
      const entry = this.cache[this.head + i - this.cacheStart]
      if (out.length > 0 && bytes + entry.data.length > maxBytes) break
      out.push(entry)
      bytes += entry.data.length
    }
    return out
  }

  append (entries: readonly LogEntry[]): void {
    if (entries.length === 0) return
    assert(entries[0].index === this.lastIndex() + 1, `append at ${entries[0].index} after last ${this.lastIndex()}`)
    if (this.pendingStart === undefined) this.pendingStart = entries[0].index
    for (const entry of entries) {
      this.cache.push(entry)
      this.cacheBytes += entry.data.length
    }
    this.evict()
  }

  /** Removes entries >= fromIndex. */
  truncate (fromIndex: number): void {
    assert(fromIndex <= this.lastIndex(), `truncate at ${fromIndex} beyond last ${this.lastIndex()}`)
    if (fromIndex >= this.cacheStart) {
      const keep = this.head + fromIndex - this.cacheStart
      for (let i = keep; i < this.cache.length; i++) this.cacheBytes -= this.cache[i].data.length
      this.cache.length = keep
    } else {
      this.cache = []
      this.head = 0
      this.cacheBytes = 0
      this.cacheStart = fromIndex
    }
    if (this.pendingStart !== undefined && fromIndex <= this.pendingStart) this.pendingStart = undefined
    if (fromIndex <= this.storage.lastIndex()) {
      this.pendingTruncate = this.pendingTruncate === undefined ? fromIndex : Math.min(this.pendingTruncate, fromIndex)
    }
  }

  hasPendingWrites (): boolean {
    return this.pendingStart !== undefined || this.pendingTruncate !== undefined
  }

  /** Hands the pending writes to the shell, which must apply them to storage before the next input. */
  takeWrites (): LogWrites {
    const writes: LogWrites = {
      truncateFrom: this.pendingTruncate,
      entries: this.pendingStart === undefined ? [] : this.cache.slice(this.head + this.pendingStart - this.cacheStart)
    }
    this.pendingStart = undefined
    this.pendingTruncate = undefined
    return writes
  }

  /** Storage changed underneath (snapshot installed): drop the cache and re-read the bounds. */
  reset (): void {
    assert(!this.hasPendingWrites(), 'log reset with pending writes')
    this.cache = []
    this.head = 0
    this.cacheBytes = 0
    this.cacheStart = this.storage.lastIndex() + 1
  }

  private evict (): void {
    while (this.cacheBytes > this.cacheLimitBytes && this.cache.length - this.head > 1 &&
      (this.pendingStart === undefined || this.cacheStart < this.pendingStart)) {
      this.cacheBytes -= this.cache[this.head].data.length
      this.head++
      this.cacheStart++
    }
    if (this.head > 1024 && this.head * 2 > this.cache.length) {
      this.cache = this.cache.slice(this.head)
      this.head = 0
    }
  }
}
