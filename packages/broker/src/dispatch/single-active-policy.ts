// Exclusive and Failover: one active consumer receives everything, in partition order.
// Exclusive admits one consumer (the lifecycle refuses a second). Failover: on a
// non-partitioned topic the first to attach is active, on partition i the consumer at i mod n
// in name order (Pulsar; no priority levels yet). When the active consumer changes, everything
// unacknowledged is redelivered to the new one, on Failover only after the failover delay
// (Pulsar `activeConsumerFailoverDelayTimeMillis`).
import type { Env, TimerHandle } from '@blazar/env'
import type { DispatchConsumer, DispatchPolicy, OrderKey, PolicyContext } from './dispatch-policy.ts'
import type { ConsumerRef } from './subscription-lifecycle.ts'

/** Pulsar `activeConsumerFailoverDelayTimeMillis`. */
export const DEFAULT_FAILOVER_DELAY_MS = 1_000

/** Every batch is in one ordering domain: partition order. */
const PARTITION_ORDER = 0

export interface FailoverOptions {
  /** Wait this long before the new active consumer receives (default 1,000 ms). */
  failoverDelayMs?: number
  /** The active consumer changed (the host pushes `active-consumer-change` to each consumer). */
  activeChanged?: (consumers: readonly ConsumerRef[], active: ConsumerRef | null) => void
}

export class SingleActivePolicy implements DispatchPolicy {
  readonly type: 'Exclusive' | 'Failover'
  readonly cumulativeAcks = true
  readonly redeliversAll = true
  readonly delaysDelivery = false
  readonly parksUndeliverable = false
  private readonly env: Env
  private readonly context: PolicyContext
  private readonly partition: number
  private readonly failoverDelayMs: number
  private readonly activeChanged: FailoverOptions['activeChanged']
  private current: DispatchConsumer | null = null
  private holdTimer: TimerHandle | null = null

  constructor (type: 'Exclusive' | 'Failover', env: Env, partition: number, context: PolicyContext, options: FailoverOptions = {}) {
    this.type = type
    this.env = env
    this.partition = partition
    this.context = context
    this.failoverDelayMs = options.failoverDelayMs ?? DEFAULT_FAILOVER_DELAY_MS
    this.activeChanged = options.activeChanged
  }

  get active (): ConsumerRef | null {
    return this.current?.ref ?? null
  }

  get onHold (): boolean {
    return this.holdTimer !== null
  }

  consumersChanged (consumers: readonly DispatchConsumer[]): boolean {
    let next: DispatchConsumer | null = consumers[0] ?? null
    if (this.type === 'Failover' && this.partition >= 0 && consumers.length > 0) {
      const byName = [...consumers].sort((a, b) => (a.ref.consumerName < b.ref.consumerName ? -1 : a.ref.consumerName > b.ref.consumerName ? 1 : a.ref.consumerId - b.ref.consumerId))
      next = byName[this.partition % byName.length]
    }
    if (next?.ref.consumerId === this.current?.ref.consumerId) return false
    const previous = this.current
    this.current = next
    if (this.type === 'Failover') {
      this.activeChanged?.(consumers.map((consumer) => consumer.ref), next?.ref ?? null)
      if (previous !== null && next !== null && this.failoverDelayMs > 0) this.hold()
    }
    return true
  }

  orderKey (): OrderKey {
    return PARTITION_ORDER
  }

  canServe (): boolean {
    return this.takerFor() !== undefined
  }

  canServeAny (): boolean {
    return this.takerFor() !== undefined
  }

  takerFor (): DispatchConsumer | undefined {
    if (this.current === null || this.onHold || !this.context.canTake(this.current)) return undefined
    return this.current
  }

  mayAcknowledge (consumer: DispatchConsumer): boolean {
    return consumer === this.current
  }

  delivered (): void {}

  released (): void {}

  blockedKeyHashes (): number[] {
    return []
  }

  stop (): void {
    if (this.holdTimer !== null) this.env.clock.clearTimer(this.holdTimer)
    this.holdTimer = null
  }

  private hold (): void {
    this.stop()
    this.holdTimer = this.env.clock.setTimer(this.failoverDelayMs, () => {
      this.holdTimer = null
      this.context.wake()
    })
  }
}
