// Oracles on the leader's dispatchers themselves (not the clients' history):
//   delayed delivery   a Shared or Key_Shared subscription never pushes a batch before its
//                      deliverAtTime (virtual clock), also on a new leader after a change;
//   dispatch liveness  whenever a subscription has undelivered messages, a consumer with
//                      permits and no reason code for not progressing (the stats' reason),
//                      its dispatcher delivers something within DISPATCH_PROGRESS_BOUND_MS.
//   delayed release    a live, running leader does not keep a delayed batch in its index for
//                      more than DELAYED_RELEASE_BOUND_MS of samples past its deliverAtTime
//                      (then it is pending, and dispatch liveness takes over): delivered once its
//                      time has passed;
//   redelivery count   a pushed batch's redeliveryCount (Pulsar's MESSAGE.redelivery_count, what
//                      a dead-letter policy acts on) never exceeds the number of times any leader
//                      pushed that batch to the subscription before.
// A reason code that is missing where dispatch is stuck, or a stall the code does not see,
// fails the dispatch liveness check.
import type { NodeId } from '@blazar/env'
import type { DispatchStats } from '@blazar/broker'
import type { DeliveredEntry, SubscriptionType } from '@blazar/protocol'
import type { Report } from './queue-oracles.ts'

/** Virtual time a dispatcher with work, permits and no reason may go without delivering. */
export const DISPATCH_PROGRESS_BOUND_MS = 2_000
/**
 * Virtual time a running leader may be seen holding a delayed batch past its deliverAtTime
 * (a resumed process runs its held timers a moment after it is up again).
 */
export const DELAYED_RELEASE_BOUND_MS = 1_000

interface Watch {
  since: number
  delivered: number
}

export class DispatchOracles {
  private readonly report: Report
  /** (node, subscription) → since when its dispatcher has had work, permits and no reason, and its delivery count then. */
  private readonly watches = new Map<string, Watch>()
  /** (node, subscription) → the overdue delayed batch's time and since when it is seen overdue. */
  private readonly overdue = new Map<string, { deliverAt: number, since: number }>()
  /** subscription → batch index → pushes so far, by any leader, to any consumer. */
  private readonly pushes = new Map<string, Map<number, number>>()

  constructor (report: Report) {
    this.report = report
  }

  /** A leader pushed `entries` to a consumer of a subscription of `type` at `now`. */
  pushed (node: NodeId, subscription: string, type: SubscriptionType, entries: readonly DeliveredEntry[], now: number): void {
    let pushes = this.pushes.get(subscription)
    if (pushes === undefined) this.pushes.set(subscription, pushes = new Map())
    for (const entry of entries) {
      const index = entry.messageId.index
      const before = pushes.get(index) ?? 0
      if (entry.redeliveryCount > before) {
        this.report('queue-redelivery-count', `${node} pushed 0:${index} of ${subscription} with redeliveryCount ${entry.redeliveryCount}, but it was pushed only ${before} times before`)
      }
      pushes.set(index, before + 1)
      if (type !== 'Shared' && type !== 'Key_Shared') continue
      const at = entry.batch.deliverAtTime ?? 0
      if (at > now) this.report('queue-delayed-delivery', `${node} pushed 0:${index} of ${subscription} at ${now}, before its deliverAtTime ${at}`)
    }
  }

  /** One sample of a live, running leader's subscription stats at `now`. */
  sampled (node: NodeId, subscription: string, stats: DispatchStats, now: number): void {
    const key = `${node}/${subscription}`
    this.checkRelease(key, stats.nextDelayedDeliveryAt, now)
    const eligible = stats.pendingMessages > 0 && stats.reason === null && stats.consumers.some((consumer) => consumer.permits > 0 && consumer.active !== false)
    const watch = this.watches.get(key)
    if (!eligible || watch === undefined || watch.delivered !== stats.deliveredBatches) {
      if (eligible) this.watches.set(key, { since: now, delivered: stats.deliveredBatches })
      else this.watches.delete(key)
      return
    }
    if (now - watch.since > DISPATCH_PROGRESS_BOUND_MS) {
      const permits = stats.consumers.map((consumer) => `${consumer.consumerName}:${consumer.permits}`).join(' ')
      this.report('queue-dispatch-liveness', `${node}: ${subscription} has ${stats.pendingMessages} undelivered messages, permits (${permits}) and no reason code, but delivered nothing for ${now - watch.since} ms`)
      this.watches.delete(key)
    }
  }

  /** The node stopped leading or its process went away: its dispatchers are gone. */
  forget (node: NodeId): void {
    for (const key of [...this.watches.keys()]) if (key.startsWith(`${node}/`)) this.watches.delete(key)
    for (const key of [...this.overdue.keys()]) if (key.startsWith(`${node}/`)) this.overdue.delete(key)
  }

  private checkRelease (key: string, nextDelayed: number | null, now: number): void {
    if (nextDelayed === null || now <= nextDelayed) {
      this.overdue.delete(key)
      return
    }
    const seen = this.overdue.get(key)
    if (seen === undefined || seen.deliverAt !== nextDelayed) this.overdue.set(key, { deliverAt: nextDelayed, since: now })
    else if (now - seen.since > DELAYED_RELEASE_BOUND_MS) {
      this.report('queue-delayed-delivery', `${key}: a delayed batch due at ${nextDelayed} still waits in the delayed index at ${now} (overdue since ${seen.since})`)
      this.overdue.delete(key)
    }
  }
}
