// A received message as the application sees it (Pulsar's Message), built from the delivered
// batches the node pushes: each batch is decoded and its i-th message gets the ID
// (partition, raft index, i), a TopicMessageId that also names the (partition) topic, so that
// a consumer of several topics can route an ack given only the ID (Pulsar's TopicMessageId).
import { MessageId, decodeBatch, type CompressionCodecs, type DeliveredEntry } from '@blazar/protocol'

/** A MessageId that knows the topic (a `-partition-N` name for a partition) it was read from. */
export class TopicMessageId extends MessageId {
  readonly topic: string

  constructor (topic: string, partition: number, index: number, batchIndex: number) {
    super(partition, index, batchIndex)
    this.topic = topic
  }
}

/** A key unique across topics: the topic (when the ID carries one) and the ID. */
export function messageKey (id: MessageId): string {
  return id instanceof TopicMessageId ? `${id.topic}|${id.toString()}` : id.toString()
}

export interface Message {
  readonly messageId: MessageId
  readonly data: Uint8Array
  readonly key: string | undefined
  /** Pulsar's ordering key, when the producer set one. */
  readonly orderingKey: Uint8Array | undefined
  readonly properties: Readonly<Record<string, string>>
  /**
   * The producer's clock when it sent the batch (ms; Pulsar's publish_time, which Pulsar
   * consumers see too), or the leader's clock when it proposed the batch for a producer that
   * stamped none.
   */
  readonly publishTime: number
  /** The producer's eventTime, 0 when unset. */
  readonly eventTime: number
  readonly redeliveryCount: number
  /** The topic the message was read from: a `-partition-N` name for a partitioned topic. */
  readonly topic: string
}

/**
 * The messages of one delivered batch, without those the subscription acknowledged already
 * (batch-index acks); throws MalformedMessageError for a batch that does not decode.
 */
export function messagesOf (entry: DeliveredEntry, options: { topic: string, partition: number, codecs: CompressionCodecs }): Message[] {
  const acked = new Set(entry.ackedBatchIndexes ?? [])
  return decodeBatch(entry.batch, options.codecs).flatMap((message, batchIndex) => acked.has(batchIndex) ? [] : [{
    messageId: new TopicMessageId(options.topic, options.partition, entry.messageId.index, batchIndex),
    data: message.payload,
    key: message.key,
    orderingKey: message.orderingKey,
    properties: message.properties,
    publishTime: message.publishTime > 0 ? message.publishTime : entry.publishTime,
    eventTime: message.eventTime,
    redeliveryCount: entry.redeliveryCount,
    topic: options.topic
  }])
}
