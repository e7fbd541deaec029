// Where a partition consumer's messages start: a reader's startMessageId (inclusive or not)
// or the message a seek named. The node positions whole batches (a message ID inside a batch
// brings the batch from its first message), so the partition consumer drops what lies before
// the start point as it arrives.
import type { MessageId } from '@blazar/protocol'

export interface StartPoint {
  readonly id: MessageId
  /** Whether the message `id` itself is delivered (Pulsar `startMessageIdInclusive`). */
  readonly inclusive: boolean
}

/** Whether a message with `id` (same partition) lies at or after the start point. */
export function admits (start: StartPoint | undefined, id: MessageId): boolean {
  if (start === undefined) return true
  const order = id.compare(start.id)
  return start.inclusive ? order >= 0 : order > 0
}
