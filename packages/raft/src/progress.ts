// Per-follower replication progress kept by the leader (etcd's tracker.Progress): the match and
// next indexes, the flow-control state and the window of AppendEntries in flight.
//   probe:     at most one append in flight until the follower's match is known
//   replicate: optimistic pipelining, up to maxInflight appends in flight
//   snapshot:  an InstallSnapshot transfer is in progress; no appends
import type { SnapshotMeta } from '@blazar/env'
import { assert } from './errors.ts'

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

export interface SnapshotTransfer {
  meta: SnapshotMeta
  data: Uint8Array
  /** Next byte to send. */
  offset: number
  sentAt: number
}

export class Progress {
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** Probe state: an append is outstanding; wait for its answer or the next heartbeat response. */
  paused = false
  /** Heard from the follower since the last check-quorum round. */
  recentActive = false
  /** Last time the follower acknowledged progress (stall detection in the replicate state). */
  progressAt: number
  /** An entry read from storage is pending for this follower (start index). */
  fetchingFrom: number | undefined
  /** Snapshot state: the transfer, once the snapshot is loaded. */
  transfer: SnapshotTransfer | undefined
  /** Last index of each append in flight, oldest first (replicate state). */
  private readonly inflight: number[] = []
  private readonly maxInflight: number

  constructor (next: number, maxInflight: number, now: number) {
    this.next = next
    this.maxInflight = maxInflight
    this.progressAt = now
  }

  inflightCount (): number { return this.inflight.length }

  /** Whether sendAppend should hold back. */
  isPaused (): boolean {
    if (this.fetchingFrom !== undefined) return true
    switch (this.state) {
      case 'probe': return this.paused
      case 'replicate': return this.inflight.length >= this.maxInflight
      case 'snapshot': return true
    }
  }

  becomeProbe (): void {
    this.state = 'probe'
    this.paused = false
    this.next = this.match + 1
    this.inflight.length = 0
    this.transfer = undefined
    this.fetchingFrom = undefined
  }

  becomeReplicate (): void {
    this.state = 'replicate'
    this.paused = false
    this.next = this.match + 1
    this.inflight.length = 0
  }

  becomeSnapshot (): void {
    this.state = 'snapshot'
    this.inflight.length = 0
    this.transfer = undefined
    this.fetchingFrom = undefined
  }

  /** An append ending at `lastIndex` was sent. */
  sentEntries (lastIndex: number, now: number): void {
    if (this.state === 'replicate') {
      assert(this.inflight.length < this.maxInflight, 'inflight window overflow')
      if (this.inflight.length === 0) this.progressAt = now
      this.inflight.push(lastIndex)
      this.next = lastIndex + 1
    } else if (this.state === 'probe') {
      this.paused = true
    }
  }

  /** The follower matches the leader up to `index`; returns false for a stale or duplicate answer. */
  maybeUpdate (index: number, now: number): boolean {
    this.paused = false
    if (index <= this.match) return false
    this.match = index
    if (this.next <= index) this.next = index + 1
    while (this.inflight.length > 0 && this.inflight[0] <= index) this.inflight.shift()
    this.progressAt = now
    return true
  }
}
