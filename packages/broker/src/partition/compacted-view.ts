// A partition's compacted view (Pulsar topic compaction): for the batches at or before a
// horizon, only the latest message of each key is kept; a latest message with an empty payload
// (Pulsar's tombstone, `null_value` or zero bytes) deletes its key, and messages without a key
// are left out, as Pulsar's compactor does. Built by feeding stored batches in log order, so
// every replica that feeds the same log gets the same view; raising the horizon continues from
// the previous view (only the batches after it are read). Reads of the view say, per batch,
// which message indexes are kept: none (skip the batch), some (the others are masked, as
// batch-index acks are), or all. A batch it cannot decode (malformed, or a compression the
// host has no codec for) is left out like a keyless one, the same on every replica.
import { CompressionCodecs, LimitExceededError, MalformedMessageError, UnsupportedCompressionError, decodeBatch, type BatchEnvelope, type DecodedMessage } from '@blazar/protocol'
import { assert } from '../state-machine.ts'

/** Distinct live keys a compacted view holds (Pulsar's compactor holds its key map in memory too). */
export const MAX_COMPACTED_KEYS = 1_000_000

/** Where a key's latest message is: its batch entry's Raft index and its index in the batch. */
interface KeyPosition {
  index: number
  batchIndex: number
}

export class CompactedView {
  private readonly codecs: CompressionCodecs
  private readonly maxKeys: number
  /** key → its latest message at or before the horizon (tombstoned keys are absent). */
  private readonly latest = new Map<string, KeyPosition>()
  /** batch index → the message indexes of it that are kept (batches with none are absent). */
  private readonly keptPerBatch = new Map<number, Set<number>>()
  /** The last batch index fed. */
  private fedTo = 0
  private coveredTo = 0
  private undecodableBatches = 0

  /** `codecs` decompresses compressed batches (the node's; without them only uncompressed batches can be compacted). */
  constructor (codecs: CompressionCodecs = new CompressionCodecs(), maxKeys = MAX_COMPACTED_KEYS) {
    this.codecs = codecs
    this.maxKeys = maxKeys
  }

  /** The log index the view covers up to (every batch at or below it was fed). */
  get horizon (): number {
    return this.coveredTo
  }

  /** The last batch index fed (at or below the horizon once `cover` ran). */
  get fedThrough (): number {
    return this.fedTo
  }

  /** Batches left out because they could not be decoded. */
  get undecodable (): number {
    return this.undecodableBatches
  }

  /** Keys the view holds. */
  get keys (): number {
    return this.latest.size
  }

  /**
   * Adds the stored batch at `index` (indexes must increase, above the horizon). Throws
   * LimitExceeded past `maxKeys`; after a throw the view is partly fed and must be rebuilt.
   */
  add (index: number, envelope: BatchEnvelope): void {
    assert(index > this.fedTo && index > this.coveredTo, `compacted view fed ${index} after ${Math.max(this.fedTo, this.coveredTo)}`)
    const messages = this.decode(envelope)
    for (let batchIndex = 0; batchIndex < messages.length; batchIndex++) {
      const { key, payload } = messages[batchIndex]
      if (key === undefined) continue
      const previous = this.latest.get(key)
      if (previous !== undefined) this.release(previous)
      if (payload.length === 0) {
        this.latest.delete(key)
        continue
      }
      if (previous === undefined && this.latest.size >= this.maxKeys) {
        throw new LimitExceededError({ limit: 'compacted keys per partition', value: this.latest.size + 1, max: this.maxKeys })
      }
      this.latest.set(key, { index, batchIndex })
      const kept = this.keptPerBatch.get(index)
      if (kept === undefined) this.keptPerBatch.set(index, new Set([batchIndex]))
      else kept.add(batchIndex)
    }
    this.fedTo = index
  }

  /** Every batch up to `horizon` has been fed: the view now covers the log up to there. */
  cover (horizon: number): void {
    assert(horizon >= this.fedTo && horizon >= this.coveredTo, `compacted view covering ${horizon} below ${Math.max(this.fedTo, this.coveredTo)}`)
    this.coveredTo = horizon
  }

  /**
   * The message indexes of the batch at `index` the view keeps, ascending: undefined when the
   * batch is after the horizon (read it whole), empty when nothing in it is kept.
   */
  keptAt (index: number, messageCount: number): number[] | undefined {
    if (index > this.coveredTo) return undefined
    const kept = this.keptPerBatch.get(index)
    if (kept === undefined) return []
    if (kept.size === messageCount) return Array.from({ length: messageCount }, (_, i) => i)
    return [...kept].sort((a, b) => a - b)
  }

  /** The last message the view keeps (highest batch index, then message index), null if none. */
  lastKept (): { index: number, batchIndex: number } | null {
    let index = -1
    for (const batch of this.keptPerBatch.keys()) index = Math.max(index, batch)
    if (index === -1) return null
    return { index, batchIndex: Math.max(...this.keptPerBatch.get(index)!) }
  }

  /** The lowest batch index still holding a kept message (retention must not trim at or above it), null if none. */
  firstKeptIndex (): number | null {
    let first: number | null = null
    for (const index of this.keptPerBatch.keys()) first = first === null ? index : Math.min(first, index)
    return first
  }

  /**
   * The highest index retention may trim to without dropping anything the view keeps or will
   * keep: below the first kept batch, and never past the horizon (later batches are not
   * compacted yet). Never decreases as the horizon rises.
   */
  trimBound (): number {
    return (this.firstKeptIndex() ?? this.coveredTo + 1) - 1
  }

  private decode (envelope: BatchEnvelope): DecodedMessage[] {
    try {
      return decodeBatch(envelope, this.codecs)
    } catch (error) {
      if (!(error instanceof MalformedMessageError) && !(error instanceof UnsupportedCompressionError)) throw error
      this.undecodableBatches++
      return []
    }
  }

  private release (position: KeyPosition): void {
    const kept = this.keptPerBatch.get(position.index)
    assert(kept?.delete(position.batchIndex) === true, `compacted view: message ${position.index}:${position.batchIndex} was not kept`)
    if (kept.size === 0) this.keptPerBatch.delete(position.index)
  }
}
