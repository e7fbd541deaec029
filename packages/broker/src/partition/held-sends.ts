// Sends a partition leader holds while its backlog is over a `producer_request_hold` quota
// (Pulsar holds the producer until the backlog is back under the quota or the send times
// out). First in, first out, so a producer's sends keep their order when released; bounded in
// count and bytes (beyond either a send is refused with BACKPRESSURE); each waits at most the
// hold time, then fails with PRODUCER_HELD_QUOTA_EXCEEDED. One timer, for the oldest.
import type { Clock, TimerHandle } from '@blazar/env'
import { BackpressureError, ProducerHeldQuotaExceededError, type BlazarError } from '@blazar/protocol'

/** How long a held send waits: Pulsar's default producer sendTimeout (30 s). */
export const DEFAULT_BACKLOG_QUOTA_HOLD_MS = 30_000
/** Sends held at once per partition. */
export const MAX_HELD_SENDS = 1000
/** Bytes of held batches per partition. */
export const MAX_HELD_SEND_BYTES = 64 * 2 ** 20

interface HeldSend {
  bytes: number
  heldAt: number
  quota: string
  resolve: () => void
  reject: (error: BlazarError) => void
}

export class HeldSends {
  private readonly clock: Clock
  private readonly topic: string
  private readonly holdMs: number
  private readonly queue: HeldSend[] = []
  private bytes = 0
  private timer: TimerHandle | null = null

  constructor (clock: Clock, topic: string, holdMs: number) {
    this.clock = clock
    this.topic = topic
    this.holdMs = holdMs
  }

  get size (): number {
    return this.queue.length
  }

  /**
   * Resolves when released; rejects after the hold time, or at once when the queue is full.
   * `quota` is the exceeded one; without it the send only waits behind those held (its order).
   */
  hold (bytes: number, quota?: string): Promise<void> {
    if (this.queue.length >= MAX_HELD_SENDS) return Promise.reject(new BackpressureError({ resource: `held sends of ${this.topic}`, limit: MAX_HELD_SENDS }))
    if (this.bytes + bytes > MAX_HELD_SEND_BYTES) return Promise.reject(new BackpressureError({ resource: `held send bytes of ${this.topic}`, limit: MAX_HELD_SEND_BYTES }))
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, heldAt: this.clock.now(), quota: quota ?? this.queue.at(-1)?.quota ?? 'backlog', resolve, reject })
      this.bytes += bytes
      this.armTimer()
    })
  }

  /** Releases every held send, oldest first. */
  releaseAll (): void {
    for (const send of this.takeAll()) send.resolve()
  }

  /** Fails every held send (leadership lost). */
  rejectAll (error: BlazarError): void {
    for (const send of this.takeAll()) send.reject(error)
  }

  private takeAll (): HeldSend[] {
    const sends = this.queue.splice(0)
    this.bytes = 0
    this.clearTimer()
    return sends
  }

  private armTimer (): void {
    const oldest = this.queue[0]
    if (this.timer !== null || oldest === undefined) return
    const due = Math.max(0, oldest.heldAt + this.holdMs - this.clock.now())
    this.timer = this.clock.setTimer(due, () => {
      this.timer = null
      const now = this.clock.now()
      while (this.queue.length > 0 && this.queue[0].heldAt + this.holdMs <= now) {
        const send = this.queue.shift()!
        this.bytes -= send.bytes
        send.reject(new ProducerHeldQuotaExceededError({ topic: this.topic, quota: send.quota, heldMs: now - send.heldAt }))
      }
      this.armTimer()
    })
  }

  private clearTimer (): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer)
    this.timer = null
  }
}
