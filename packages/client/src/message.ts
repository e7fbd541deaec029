// A received message as the application sees it (Pulsar's Message), built from the delivered
// batches the node pushes: each batch is decoded and its i-th message gets the ID
// (partition, raft index, i).
import { MessageId, decodeBatch, type CompressionCodecs, type DeliveredEntry } from '@blazar/protocol'

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

/** The messages of one delivered batch; throws MalformedMessageError for a batch that does not decode. */
export function messagesOf (entry: DeliveredEntry, options: { topic: string, partition: number, codecs: CompressionCodecs }): Message[] {
  return decodeBatch(entry.batch, options.codecs).map((message, batchIndex) => ({
    messageId: new MessageId(options.partition, entry.messageId.index, batchIndex),
    data: message.payload,
    key: message.key,
    orderingKey: message.orderingKey,
    properties: message.properties,
    publishTime: message.publishTime > 0 ? message.publishTime : entry.publishTime,
    eventTime: message.eventTime,
    redeliveryCount: entry.redeliveryCount,
    topic: options.topic
  }))
}
