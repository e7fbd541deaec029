// The node's DeadLetterSink: where the partition leaders' dead-letter forwarders publish. Each
// publish goes through this node's own gateway as a client request from one internal session
// (create-producer once per target partition and forwarder producer, then `send`), so the
// gateway's routing takes it to the dead-letter topic's leader, served here or forwarded, as
// any client's send. A partitioned dead-letter topic gets each message on partition
// sequenceId mod partitions, so a resend reaches the partition that may hold the first copy
// and each partition sees a producer's sequence ids in increasing order. That holds while the
// partition count stays the same: a resend after the topic gained partitions may land on
// another partition, whose deduplication cannot drop it (a duplicate, never a loss). The dead-letter
// topic's namespace must have deduplication on for a resend to be dropped (the partition's
// dedup table is what makes the forwarding exactly once).
import type { DeadLetterRecord, DeadLetterSink } from '@blazar/broker'
import {
  CompressionCodecs, errorFromWire, encodeBatch, parseTopicName, partitionTopicName, type ClientReply, type ClientRequestBody
} from '@blazar/protocol'
import type { MetadataService } from './metadata-service.ts'
import type { GatewaySession } from './session-state.ts'

/** Forwarder producers the sink keeps open at once (the session's handle bound is higher); the oldest is closed beyond it. */
export const MAX_DEAD_LETTER_SINK_PRODUCERS = 1_000

export interface GatewayDeadLetterSinkOptions {
  /** The gateway's request entry (Gateway.serve). */
  serve: (session: GatewaySession, body: ClientRequestBody) => Promise<ClientReply>
  metadata: MetadataService
}

const codecs = new CompressionCodecs()

export class GatewayDeadLetterSink implements DeadLetterSink {
  private readonly options: GatewayDeadLetterSinkOptions
  /** The session the forwarders' requests are served in: nothing is pushed to it, it never closes. */
  private readonly session: GatewaySession = {
    peer: 'dead-letter-forwarder',
    open: true,
    push: async () => { throw new Error('the dead-letter session takes no pushes') },
    onClose: () => {}
  }

  /** `<partition topic> <producer name>` → the producer handle (being created), in creation order. */
  private readonly producers = new Map<string, Promise<number>>()
  private nextHandle = 0

  constructor (options: GatewayDeadLetterSinkOptions) {
    this.options = options
  }

  async publish (record: DeadLetterRecord): Promise<void> {
    const topic = this.targetOf(record)
    const producerId = await this.producer(topic, record.producerName)
    const batch = encodeBatch([{
      properties: record.properties, payload: record.payload, eventTime: record.eventTime ?? 0, sequenceId: record.sequenceId,
      ...(record.key === undefined ? {} : { key: record.key })
    }], { producerName: record.producerName }, codecs)
    const reply = await this.options.serve(this.session, { type: 'send', producerId, batch })
    if (!reply.ok) {
      // A producer the gateway no longer knows is made again by the next attempt.
      this.producers.delete(`${topic} ${record.producerName}`)
      throw errorFromWire(reply.error)
    }
  }

  private targetOf (record: DeadLetterRecord): string {
    const name = parseTopicName(record.topic)
    const partitions = this.options.metadata.sm.topic(name.full)?.partitions ?? 0
    return partitions > 0 && name.partitionIndex < 0 ? partitionTopicName(name.full, record.sequenceId % partitions) : name.full
  }

  private producer (topic: string, producerName: string): Promise<number> {
    const key = `${topic} ${producerName}`
    const known = this.producers.get(key)
    if (known !== undefined) return known
    if (this.producers.size >= MAX_DEAD_LETTER_SINK_PRODUCERS) {
      const [oldestKey, oldest] = this.producers.entries().next().value as [string, Promise<number>]
      this.producers.delete(oldestKey)
      oldest.then((producerId) => this.options.serve(this.session, { type: 'close-producer', producerId }), () => {}).catch(() => {})
    }
    const producerId = ++this.nextHandle
    const created = this.options.serve(this.session, { type: 'create-producer', topic, producerId, producerName, accessMode: 'Shared' }).then((reply) => {
      if (!reply.ok) throw errorFromWire(reply.error)
      return producerId
    })
    // A failed creation is forgotten, so that the next publish tries again.
    created.catch(() => { if (this.producers.get(key) === created) this.producers.delete(key) })
    this.producers.set(key, created)
    return created
  }
}
