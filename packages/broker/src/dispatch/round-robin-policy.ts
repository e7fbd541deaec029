// Shared: batches go round-robin, up to `roundRobinBatchSize` per turn (Pulsar
// `dispatcherMaxRoundRobinBatchSize`), to consumers that have permits and are under their
// unacked bound. No ordering; individual acks only; negative acks redeliver just the named
// batches (to any consumer).
import type { DispatchConsumer, DispatchPolicy, OrderKey, PolicyContext } from './dispatch-policy.ts'

export class RoundRobinPolicy implements DispatchPolicy {
  readonly type = 'Shared'
  readonly cumulativeAcks = false
  readonly redeliversAll = false
  readonly delaysDelivery = true
  readonly parksUndeliverable = false
  readonly onHold = false
  readonly active = null
  private readonly context: PolicyContext
  private readonly roundRobinBatchSize: number
  private consumers: readonly DispatchConsumer[] = []
  private turn: { consumer: DispatchConsumer, sent: number } | null = null

  constructor (context: PolicyContext, roundRobinBatchSize: number) {
    this.context = context
    this.roundRobinBatchSize = roundRobinBatchSize
  }

  consumersChanged (consumers: readonly DispatchConsumer[]): boolean {
    this.consumers = consumers
    if (this.turn !== null && !consumers.includes(this.turn.consumer)) this.turn = null
    return false
  }

  orderKey (): OrderKey {
    return null
  }

  canServe (): boolean {
    return this.consumers.some((consumer) => this.context.canTake(consumer))
  }

  canServeAny (): boolean {
    return this.canServe()
  }

  /** The consumer whose turn it is: the current one until it had its batch quota or can take no more. */
  takerFor (): DispatchConsumer | undefined {
    if (this.consumers.length === 0) return undefined
    const current = this.turn
    if (current !== null && current.sent < this.roundRobinBatchSize && this.context.canTake(current.consumer)) return current.consumer
    const start = current === null ? 0 : this.consumers.indexOf(current.consumer) + 1
    for (let k = 0; k < this.consumers.length; k++) {
      const candidate = this.consumers[(start + k) % this.consumers.length]
      if (this.context.canTake(candidate)) {
        this.turn = { consumer: candidate, sent: 0 }
        return candidate
      }
    }
    return undefined
  }

  mayAcknowledge (): boolean {
    return true
  }

  delivered (_index: number, _key: OrderKey, consumer: DispatchConsumer): void {
    if (this.turn?.consumer === consumer) this.turn.sent++
  }

  released (): void {}

  blockedKeyHashes (): number[] {
    return []
  }

  stop (): void {}
}
