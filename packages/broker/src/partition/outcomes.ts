// What applying an entry did, kept for the proposer: RaftNode.propose resolves with the index
// once the entry is applied locally, and the proposer then asks what happened at that index.
// Bounded: only the most recent MAX_RECENT_OUTCOMES are kept (followers apply too).
import type { MessageIdData, WireError } from '@blazar/protocol'

export const MAX_RECENT_OUTCOMES = 4_096

export type PartitionOutcome =
  /** `predecessorIndex`: where the batch named by `previousSequenceId` is stored, when it was the producer's last. */
  | { kind: 'stored', firstMessageId: MessageIdData, messageCount: number, predecessorIndex?: number }
  | { kind: 'duplicate', producerName: string, lastSequenceId: number }
  | { kind: 'cursor', applied: boolean }
  | { kind: 'subscription', created: boolean }
  | { kind: 'config' }
  | { kind: 'trim', trimmedTo: number }
  | { kind: 'compaction', horizon: number }
  /** `positions`: the outbox positions given to the messages it acknowledged; `alreadyAcknowledged`: messages skipped; `stale`: made under an older cursor generation. */
  | { kind: 'dead-letter', positions: number[], alreadyAcknowledged: number, stale: boolean }
  | { kind: 'dead-letter-forwarded', removed: number }
  | { kind: 'rejected', error: WireError }

export class RecentOutcomes<O> {
  private readonly outcomes = new Map<number, O>()
  private readonly max: number

  constructor (max = MAX_RECENT_OUTCOMES) {
    this.max = max
  }

  record (index: number, outcome: O): void {
    this.outcomes.set(index, outcome)
    if (this.outcomes.size > this.max) this.outcomes.delete(this.outcomes.keys().next().value as number)
  }

  /** The outcome at `index`, or undefined if it was never seen here or has been evicted. */
  get (index: number): O | undefined {
    return this.outcomes.get(index)
  }

  clear (): void {
    this.outcomes.clear()
  }
}
