// Oracles on the leader's dispatchers themselves (not the clients' history):
//   delayed delivery   a Shared or Key_Shared subscription never pushes a batch before its
//                      deliverAtTime (virtual clock), also on a new leader after a change;
//   dispatch liveness  whenever a subscription has undelivered messages, a consumer with
//                      permits and no reason code for not progressing (the stats' reason),
//                      its dispatcher delivers something within DISPATCH_PROGRESS_BOUND_MS.
// A reason code that is missing where dispatch is stuck, or a stall the code does not see,
// fails the second one.
import type { NodeId } from '@blazar/env'
import type { DispatchStats } from '@blazar/broker'
import type { DeliveredEntry, SubscriptionType } from '@blazar/protocol'
import type { Report } from './queue-oracles.ts'

/** Virtual time a dispatcher with work, permits and no reason may go without delivering. */
export const DISPATCH_PROGRESS_BOUND_MS = 2_000

interface Watch {
  since: number
  delivered: number
}

export class DispatchOracles {
  private readonly report: Report
  /** (node, subscription) → since when its dispatcher has had work, permits and no reason, and its delivery count then. */
  private readonly watches = new Map<string, Watch>()

  constructor (report: Report) {
    this.report = report
  }

  /** A leader pushed `entries` to a consumer of a subscription of `type` at `now`. */
  pushed (node: NodeId, subscription: string, type: SubscriptionType, entries: readonly DeliveredEntry[], now: number): void {
    if (type !== 'Shared' && type !== 'Key_Shared') return
    for (const entry of entries) {
      const at = entry.batch.deliverAtTime ?? 0
      if (at > now) this.report('queue-delayed-delivery', `${node} pushed 0:${entry.messageId.index} of ${subscription} at ${now}, before its deliverAtTime ${at}`)
    }
  }

  /** One sample of a live, running leader's subscription stats at `now`. */
  sampled (node: NodeId, subscription: string, stats: DispatchStats, now: number): void {
    const key = `${node}/${subscription}`
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
  }
}
