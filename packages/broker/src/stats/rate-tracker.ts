// Message and byte rates over a sliding time window, on the Env clock (Pulsar's msgRateIn,
// msgThroughputIn and friends are per-second rates, not counters a reader has to difference).
// The window is a fixed ring of buckets: memory is bounded whatever the traffic, and a rate
// read at time t covers the buckets that overlap (t - windowMs, t]. Before a tracker has
// existed for a whole window, the rate divides by the time it has existed (at least one bucket),
// so a fresh leader does not under-report.
import type { Clock } from '@blazar/env'
import { assert } from '../state-machine.ts'

export interface RateWindow {
  /** Length of the window the rate is averaged over. */
  windowMs: number
  /** Buckets the window is cut into (the rate's time resolution is windowMs / buckets). */
  buckets: number
}

/** Pulsar computes topic rates over its stats interval; 60 s in 5 s buckets here. */
export const DEFAULT_RATE_WINDOW: RateWindow = { windowMs: 60_000, buckets: 12 }

export interface Rates {
  /** Messages per second. */
  msgRate: number
  /** Bytes per second. */
  byteRate: number
}

export class RateTracker {
  private readonly clock: Clock
  private readonly bucketMs: number
  private readonly bucketCount: number
  private readonly createdAt: number
  private readonly epochs: number[]
  private readonly messages: number[]
  private readonly bytes: number[]

  constructor (clock: Clock, window: RateWindow = DEFAULT_RATE_WINDOW) {
    assert(Number.isInteger(window.buckets) && window.buckets >= 1, `rate window needs >= 1 bucket, got ${window.buckets}`)
    assert(window.windowMs >= window.buckets, `rate window of ${window.windowMs} ms cannot hold ${window.buckets} buckets`)
    this.clock = clock
    this.bucketCount = window.buckets
    this.bucketMs = window.windowMs / window.buckets
    this.createdAt = clock.now()
    this.epochs = new Array<number>(window.buckets).fill(-1)
    this.messages = new Array<number>(window.buckets).fill(0)
    this.bytes = new Array<number>(window.buckets).fill(0)
  }

  record (messages: number, bytes: number): void {
    assert(messages >= 0 && bytes >= 0, `negative rate sample ${messages}/${bytes}`)
    const epoch = Math.floor(this.clock.now() / this.bucketMs)
    const slot = epoch % this.bucketCount
    if (this.epochs[slot] !== epoch) {
      this.epochs[slot] = epoch
      this.messages[slot] = 0
      this.bytes[slot] = 0
    }
    this.messages[slot] += messages
    this.bytes[slot] += bytes
  }

  rates (): Rates {
    const now = this.clock.now()
    const epoch = Math.floor(now / this.bucketMs)
    let messages = 0
    let bytes = 0
    for (let slot = 0; slot < this.bucketCount; slot++) {
      if (this.epochs[slot] > epoch - this.bucketCount) {
        messages += this.messages[slot]
        bytes += this.bytes[slot]
      }
    }
    const covered = (this.bucketCount - 1) * this.bucketMs + (now - epoch * this.bucketMs)
    const seconds = Math.max(this.bucketMs, Math.min(covered, now - this.createdAt)) / 1000
    return { msgRate: messages / seconds, byteRate: bytes / seconds }
  }

  /** Whether nothing was recorded within the window (an idle entry may be dropped). */
  idle (): boolean {
    const epoch = Math.floor(this.clock.now() / this.bucketMs)
    return this.epochs.every((recorded, slot) => recorded <= epoch - this.bucketCount || this.messages[slot] === 0)
  }
}
