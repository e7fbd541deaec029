// Producer deduplication state of a partition (Pulsar semantics): per producer name, the
// highest sequence id persisted. A batch whose last sequence id is <= that is a duplicate.
// At most MAX_DEDUP_PRODUCERS producers are tracked; the least recently active is forgotten
// first, and any producer idle for DEDUP_PRODUCER_INACTIVITY_MS of publish time is forgotten.
import { DEDUP_PRODUCER_INACTIVITY_MS, MAX_DEDUP_PRODUCERS } from '@blazar/protocol'

export interface ProducerRecord {
  lastSequenceId: number
  /** Raft index of the producer's last stored batch. */
  lastIndex: number
  lastPublishTime: number
}

export class DedupTable {
  /** Map order is least recently active first: updates delete and re-insert. */
  private readonly producers = new Map<string, ProducerRecord>()
  private readonly maxProducers: number

  constructor (maxProducers = MAX_DEDUP_PRODUCERS) {
    this.maxProducers = maxProducers
  }

  get size (): number {
    return this.producers.size
  }

  get (producerName: string): ProducerRecord | undefined {
    return this.producers.get(producerName)
  }

  /** Highest persisted sequence id of a producer, -1 if unknown (Pulsar's answer to a new producer). */
  lastSequenceId (producerName: string): number {
    return this.producers.get(producerName)?.lastSequenceId ?? -1
  }

  isDuplicate (producerName: string, lastSequenceIdOfBatch: number): boolean {
    const record = this.producers.get(producerName)
    return record !== undefined && lastSequenceIdOfBatch <= record.lastSequenceId
  }

  /** Records a stored batch; `publishTime` also expires idle producers. */
  record (producerName: string, lastSequenceId: number, index: number, publishTime: number): void {
    const previous = this.producers.get(producerName)
    this.producers.delete(producerName)
    this.producers.set(producerName, {
      lastSequenceId: Math.max(lastSequenceId, previous?.lastSequenceId ?? -1),
      lastIndex: index,
      lastPublishTime: Math.max(publishTime, previous?.lastPublishTime ?? 0)
    })
    for (const [name, oldest] of this.producers) {
      const idle = oldest.lastPublishTime + DEDUP_PRODUCER_INACTIVITY_MS < publishTime
      if (!idle && this.producers.size <= this.maxProducers) break
      this.producers.delete(name)
    }
  }

  entries (): Array<[string, ProducerRecord]> {
    return [...this.producers]
  }

  static fromEntries (entries: Array<[string, ProducerRecord]>, maxProducers = MAX_DEDUP_PRODUCERS): DedupTable {
    const table = new DedupTable(maxProducers)
    for (const [name, record] of entries) table.producers.set(name, { ...record })
    return table
  }
}
