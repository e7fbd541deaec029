// The client history: every register operation's invocation and completion, in the order the
// simulation observed them (a global sequence number stands in for real time, so "a completed
// before b was invoked" is exact). Outcomes follow Jepsen: ok, fail (definitely had no effect)
// and info (unknown: it may or may not have taken effect, at any time after its invocation).

export type OperationKind = 'read' | 'write'
export type Outcome = 'ok' | 'fail' | 'info'

export interface Operation {
  id: number
  client: number
  kind: OperationKind
  key: string
  /** The value written, or for a completed read the value seen (null = never written). */
  value: string | null
  invokedAt: number
  /** Sequence number of the completion; null while pending (and for info at the end). */
  completedAt: number | null
  outcome: Outcome | null
  /** Virtual time of invocation and completion, for people reading a failure. */
  invokedTime: number
  completedTime: number | null
}

/** Operations recorded per run, at most. */
export const MAX_HISTORY_OPERATIONS = 200_000

export class History {
  private readonly ops: Operation[] = []
  private sequence = 0
  private pendingCount = 0

  invoke (client: number, kind: OperationKind, key: string, value: string | null, time: number): Operation {
    if (this.ops.length >= MAX_HISTORY_OPERATIONS) throw new RangeError(`history exceeds ${MAX_HISTORY_OPERATIONS} operations`)
    const op: Operation = {
      id: this.ops.length, client, kind, key, value, invokedAt: this.sequence++, completedAt: null, outcome: null,
      invokedTime: time, completedTime: null
    }
    this.ops.push(op)
    this.pendingCount++
    return op
  }

  complete (op: Operation, outcome: Outcome, time: number, readValue?: string | null): void {
    if (op.outcome !== null) throw new Error(`operation ${op.id} completed twice`)
    op.outcome = outcome
    op.completedAt = this.sequence++
    op.completedTime = time
    if (op.kind === 'read') op.value = outcome === 'ok' ? (readValue ?? null) : null
    this.pendingCount--
  }

  get pending (): number {
    return this.pendingCount
  }

  operations (): readonly Operation[] {
    return this.ops
  }

  pendingOperations (): Operation[] {
    return this.ops.filter((op) => op.outcome === null)
  }
}
