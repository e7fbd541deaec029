// What a readCompacted subscription's dispatcher reads (Pulsar's compacted read): up to the
// compaction horizon only the batches holding a message the compacted view keeps, each with the
// messages it does not keep marked as compacted out (delivered as already acknowledged, as
// batch-index acks are, so clients skip them); after the horizon the log as it is.
import type { DispatchSource } from '../dispatch/dispatch-options.ts'
import type { CompactedView } from './compacted-view.ts'
import type { StoredBatch } from './message-cache.ts'
import type { PartitionStateMachine, ReadLimits } from './partition-state-machine.ts'

export function compactedSource (sm: PartitionStateMachine, view: CompactedView): DispatchSource {
  const kept = (batch: StoredBatch): StoredBatch | undefined => {
    const indexes = view.keptAt(batch.index, batch.envelope.messageCount)
    if (indexes === undefined || indexes.length === batch.envelope.messageCount) return batch
    if (indexes.length === 0) return undefined
    const keep = new Set(indexes)
    const compactedOut: number[] = []
    for (let i = 0; i < batch.envelope.messageCount; i++) if (!keep.has(i)) compactedOut.push(i)
    return { ...batch, compactedOut }
  }
  return {
    async read (from: number, limits: ReadLimits): Promise<StoredBatch[]> {
      // Batches wholly compacted out are skipped; keep reading until something is left or the log ends.
      for (let position = from; ;) {
        const batches = await sm.read(position, limits)
        if (batches.length === 0) return []
        const out = batches.map(kept).filter((batch) => batch !== undefined)
        if (out.length > 0) return out
        position = batches[batches.length - 1].index + 1
      }
    },
    nextMessageIndex (index: number): number {
      let next = sm.nextMessageIndex(index)
      while (next <= view.horizon && (view.keptAt(next, sm.messageCountAt(next) ?? 0)?.length ?? 1) === 0) next = sm.nextMessageIndex(next)
      return next
    },
    onCommit: (listener) => sm.onCommit(listener),
    // Stats: the backlog counted over the whole log, compacted-out messages included.
    messagesAfter: (index) => sm.messagesAfter(index)
  }
}
