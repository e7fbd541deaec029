// The bounded cache of recently committed batches that consumer dispatch reads first (disk
// only on a miss). Bounded by entries and bytes; the oldest batches are evicted first.
import type { BatchEnvelope } from '@blazar/protocol'

/** A committed batch entry as dispatch sees it. */
export interface StoredBatch {
  index: number
  publishTime: number
  envelope: BatchEnvelope
  /** Read compacted: the messages of the batch the compacted view does not keep (delivered as acknowledged). */
  compactedOut?: readonly number[]
}

export interface MessageCacheLimits {
  /** Batches kept (default 10,000). */
  maxEntries: number
  /** Body bytes kept (default 16 MiB). */
  maxBytes: number
}

export const DEFAULT_MESSAGE_CACHE_LIMITS: MessageCacheLimits = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 }

export class MessageCache {
  private readonly limits: MessageCacheLimits
  private readonly batches = new Map<number, StoredBatch>()
  private bytes = 0

  constructor (limits: MessageCacheLimits = DEFAULT_MESSAGE_CACHE_LIMITS) {
    this.limits = limits
  }

  get size (): number {
    return this.batches.size
  }

  get cachedBytes (): number {
    return this.bytes
  }

  /** Adds a newly committed batch (indexes arrive in increasing order). */
  add (batch: StoredBatch): void {
    if (batch.envelope.body.length > this.limits.maxBytes) return
    this.batches.set(batch.index, batch)
    this.bytes += batch.envelope.body.length
    for (const [index, oldest] of this.batches) {
      if (this.batches.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break
      this.batches.delete(index)
      this.bytes -= oldest.envelope.body.length
    }
  }

  get (index: number): StoredBatch | undefined {
    return this.batches.get(index)
  }

  /** Forgets every batch with index <= upTo (trimmed). */
  dropUpTo (upTo: number): void {
    for (const [index, batch] of this.batches) {
      if (index > upTo) break
      this.batches.delete(index)
      this.bytes -= batch.envelope.body.length
    }
  }

  clear (): void {
    this.batches.clear()
    this.bytes = 0
  }
}
