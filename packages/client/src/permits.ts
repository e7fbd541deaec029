// Flow permits for one partition consumer, as Pulsar counts them: the whole receiver queue is
// granted on (re)subscribe, and once the application has taken half the queue that many
// permits are granted again. The node charges a batch by its message count.

export class PermitTracker {
  private readonly queueSize: number
  private readonly threshold: number
  private taken = 0

  constructor (receiverQueueSize: number) {
    this.queueSize = receiverQueueSize
    this.threshold = Math.max(1, Math.floor(receiverQueueSize / 2))
  }

  /** A fresh subscription: nothing taken yet; returns the permits to grant. */
  reset (): number {
    this.taken = 0
    return this.queueSize
  }

  /** The application took `n` messages; returns the permits to grant now (0 below the threshold). */
  took (n: number): number {
    this.taken += n
    if (this.taken < this.threshold) return 0
    const grant = this.taken
    this.taken = 0
    return grant
  }
}
