// Where an admin cursor move (Pulsar's skip/{n}, skip_all, resetcursor) puts a subscription's
// cursor, as a reset position. Positions name the messages that were there when the move was
// asked for, so a message committed meanwhile is not skipped. Skips move forward by whole
// batches: a skip of n passes the batches holding the next n unacknowledged messages. All are
// replicated as a `reset`, which forgets individual acknowledgements above the new position
// (those messages are delivered again), exactly as a consumer's seek does. An expiry
// (expireMessages/{seconds}) is not a reset: it moves mark-delete forward as message TTL does
// (backlog-policies.ts).
import type { CursorPosition, SubscriptionMove } from '@blazar/protocol'
import type { PartitionStateMachine } from './partition-state-machine.ts'

/** A move that is a reset (every move but an expiry). */
export type ResetMove = Exclude<SubscriptionMove, { to: 'expire' }>

/** The reset a move amounts to, or null when it would not move the cursor forward. */
export function cursorMoveTarget (sm: PartitionStateMachine, subscription: string, move: ResetMove): CursorPosition | null {
  switch (move.to) {
    case 'position': return move.position
    case 'skip-all': {
      const last = sm.lastBatch
      return last === null ? null : past(sm, subscription, last.index)
    }
    case 'skip': {
      let skipped = 0
      let lastSkipped: number | null = null
      for (const batch of sm.unackedBatches(subscription, move.messages)) {
        skipped += batch.messageCount
        lastSkipped = batch.index
        if (skipped >= move.messages) break
      }
      return lastSkipped === null ? null : past(sm, subscription, lastSkipped)
    }
  }
}

/** The position just after the batch at `index`: every message up to it counts as acknowledged. */
function past (sm: PartitionStateMachine, subscription: string, index: number): CursorPosition | null {
  const markDelete = sm.cursor(subscription)?.markDelete ?? 0
  if (index <= markDelete) return null
  return { at: 'message', index: index + 1, batchIndex: -1 }
}
