// Consumers attached to partitions led by this node, by the node-wide id their
// PartitionReplica knows them by (client handles are only unique per session). Delivers the
// replicas' pushes to the right session under the client's handle, and tells the client when
// the broker closed its consumer (leadership moved, subscription deleted) so it subscribes again.
// Also ends attachments (local or forwarded) and handles a push the client could not take.
import type { ConsumerRef } from '@blazar/broker'
import type { Logger } from '@blazar/env'
import type { DeliveredEntry, ServerPush } from '@blazar/protocol'
import { attachmentEnded, type ConsumerRecord, type SessionState } from './session-state.ts'

export class ConsumerRegistry {
  private readonly logger: Logger
  private readonly attached = new Map<number, { state: SessionState, record: ConsumerRecord }>()
  private nextId = 1

  constructor (logger: Logger) {
    this.logger = logger
  }

  /** A node-wide id for `record`'s consumer on a local replica. */
  attach (state: SessionState, record: ConsumerRecord): number {
    const id = this.nextId++
    this.attached.set(id, { state, record })
    return id
  }

  /** Forgets a node-wide id whose replica attachment failed or ended. */
  forget (internalId: number): void {
    this.attached.delete(internalId)
  }

  /** Ends the consumer's attachment (locally, or by closing its forwarded handle). */
  detachConsumer (record: ConsumerRecord): void {
    const attachment = record.attachment
    record.attachment = null
    if (attachment === null) return
    if (attachment.kind === 'local') {
      this.forget(attachment.internalId)
      attachment.partition.replica.closeConsumer(attachment.internalId)
      return
    }
    attachment.upstream.unlisten(attachment.upstreamId)
    if (attachment.upstream.connection.open) {
      attachment.upstream.connection.request({ type: 'close-consumer', consumerId: attachment.upstreamId }).catch(() => {})
    }
  }

  /**
   * Pushes messages (or an active-consumer change) to a consumer's session. If the push fails
   * while the session is open, the batches it carried must not stay outstanding at a consumer
   * that never got them: the consumer is detached (its leader redelivers them) and the client
   * is told to subscribe again.
   */
  async pushToConsumer (state: SessionState, record: ConsumerRecord, push: ServerPush): Promise<void> {
    try {
      await state.session.push(push)
    } catch (error) {
      if (!state.session.open) return
      this.logger.warn('push to consumer failed; closing it', { consumer: record.clientId, error: String(error) })
      this.detachConsumer(record)
      await pushTo(state, { type: 'consumer-closed', consumerId: record.clientId, reason: 'delivery to the client failed' }, this.logger)
    }
  }

  /** Consumers attached here to `subscription` of `group`. */
  count (group: string, subscription: string): number {
    let n = 0
    for (const { record } of this.attached.values()) if (record.group === group && record.subscription === subscription) n++
    return n
  }

  deliver (consumer: ConsumerRef, entries: DeliveredEntry[]): void {
    const target = this.attached.get(consumer.consumerId)
    if (target === undefined) return
    const { state, record } = target
    this.pushToConsumer(state, record, { type: 'messages', consumerId: record.clientId, entries })
  }

  closed (consumer: ConsumerRef, reason: string): void {
    const target = this.attached.get(consumer.consumerId)
    if (target === undefined) return
    this.attached.delete(consumer.consumerId)
    const { record, state } = target
    if (record.attachment?.kind !== 'local' || record.attachment.internalId !== consumer.consumerId) return
    if (attachmentEnded(state, record, reason)) pushTo(state, { type: 'consumer-closed', consumerId: record.clientId, reason }, this.logger)
  }
}

/** Pushes to a session; a closed session is cleaned up by its close handler, so failures are only logged. */
export async function pushTo (state: SessionState, push: ServerPush, logger: Logger): Promise<void> {
  try {
    await state.session.push(push)
  } catch (error) {
    if (state.session.open) logger.warn('push to client failed', { type: push.type, error: String(error) })
  }
}
