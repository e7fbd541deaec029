// The dispatcher's one read at a time from the partition (cache, then the Raft log): a read
// started before a cursor reset or a close is discarded (epoch), a failed read is retried
// after `retryDelayMs`, and a wake-up asked for while a read was in flight (a commit, new
// permits, a redelivery) is honoured once it is done, so no change is ever missed.
import type { Env, TimerHandle } from '@blazar/env'
import type { StoredBatch } from '../partition/message-cache.ts'
import type { DispatchLimits, DispatchSource } from './dispatch-options.ts'

export interface ReadLoopOptions {
  env: Env
  source: DispatchSource
  limits: DispatchLimits
  /** For log lines. */
  topic: string
  subscription: string
  /** Handles a read's batches; returns whether reading again may deliver more. */
  onBatches: (batches: StoredBatch[], replaying: boolean) => boolean
  /** Called when reading again may help (after a retry delay, or after batches were handled). */
  wake: () => void
}

export class ReadLoop {
  private readonly options: ReadLoopOptions
  private reading = false
  /** Bumped by every cancel: a read that started before is discarded. */
  private epoch = 0
  private wakeAfterRead = false
  private retryTimer: TimerHandle | null = null

  constructor (options: ReadLoopOptions) {
    this.options = options
  }

  /** A read is in flight or waiting to be retried. */
  get busy (): boolean {
    return this.reading || this.retryTimer !== null
  }

  /** Something changed while busy: wake the dispatcher again once the read is done. */
  requestWake (): void {
    if (this.reading) this.wakeAfterRead = true
  }

  read (from: number, replaying: boolean): void {
    if (this.busy) return
    const { env, source, limits } = this.options
    this.reading = true
    this.wakeAfterRead = false
    const epoch = this.epoch
    source.read(from, { maxEntries: limits.readBatchEntries, maxBytes: limits.readBatchBytes }).then(
      (batches) => {
        if (epoch !== this.epoch) return
        this.reading = false
        if (this.options.onBatches(batches, replaying) || this.wakeAfterRead) this.options.wake()
      },
      (error: unknown) => {
        if (epoch !== this.epoch) return
        this.reading = false
        env.logger.warn('dispatch read failed; will retry', { topic: this.options.topic, subscription: this.options.subscription, error: String(error) })
        this.retryTimer = env.clock.setTimer(limits.retryDelayMs, () => {
          this.retryTimer = null
          this.options.wake()
        })
      }
    )
  }

  /** Discards the read in flight (its result would be stale). */
  cancel (): void {
    this.epoch++
    this.reading = false
  }

  stop (): void {
    this.cancel()
    if (this.retryTimer !== null) this.options.env.clock.clearTimer(this.retryTimer)
    this.retryTimer = null
  }
}
