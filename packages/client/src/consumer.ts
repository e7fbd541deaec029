// The Consumer the application holds: one PartitionConsumer per partition (one for a
// non-partitioned topic) feeding one receiver queue. Acknowledgements go to the partition a
// message came from; negative acks wait negativeAckRedeliveryDelayMs, then are redelivered.
import { ConsumerClosedError, InvalidArgumentError, MessageId } from '@blazar/protocol'
import type { Message } from './message.ts'
import type { NegativeAcks } from './negative-acks.ts'
import type { PartitionConsumer } from './partition-consumer.ts'
import type { ReceiverQueue } from './receiver-queue.ts'

export type MessageOrId = Message | MessageId

export class Consumer {
  private readonly topicName: string
  private readonly subscriptionName: string
  private readonly partitions: readonly PartitionConsumer[]
  private readonly queue: ReceiverQueue
  private readonly nacks: NegativeAcks
  private readonly onClose: () => void
  private closing: Promise<void> | undefined

  constructor (options: {
    topic: string, subscription: string, partitions: readonly PartitionConsumer[], queue: ReceiverQueue, nacks: NegativeAcks, onClose: () => void
  }) {
    this.topicName = options.topic
    this.subscriptionName = options.subscription
    this.partitions = options.partitions
    this.queue = options.queue
    this.nacks = options.nacks
    this.onClose = options.onClose
  }

  getTopic (): string {
    return this.topicName
  }

  getSubscription (): string {
    return this.subscriptionName
  }

  isConnected (): boolean {
    return this.closing === undefined && this.partitions.every((partition) => partition.connected)
  }

  /** Messages received from the node and not yet taken by receive(). */
  get queuedMessages (): number {
    return this.queue.size
  }

  /** The next message; with `timeoutMs`, rejects with TimeoutError when none arrives in time. */
  receive (timeoutMs?: number): Promise<Message> {
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      return Promise.reject(new InvalidArgumentError({ argument: 'timeoutMs', reason: 'must be a non-negative number' }))
    }
    return this.queue.receive(timeoutMs)
  }

  /** Acknowledges one message. While the consumer re-subscribes the ack is dropped: the node redelivers. */
  async acknowledge (message: MessageOrId): Promise<void> {
    const id = this.idOf(message)
    await this.partitionOf(id).acknowledge([id], 'Individual')
  }

  /** Acknowledges every message of the message's partition up to and including it. */
  async acknowledgeCumulative (message: MessageOrId): Promise<void> {
    const id = this.idOf(message)
    await this.partitionOf(id).acknowledge([id], 'Cumulative')
  }

  /** Asks for the message again after negativeAckRedeliveryDelayMs. */
  negativeAcknowledge (message: MessageOrId): void {
    this.nacks.add(this.idOf(message))
  }

  /** Redelivers `ids` now, grouped by partition (used by the negative-ack timer). */
  redeliver (ids: readonly MessageId[]): void {
    const byPartition = new Map<PartitionConsumer, MessageId[]>()
    for (const id of ids) {
      const partition = this.partitionOf(id)
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), id])
    }
    for (const [partition, partitionIds] of byPartition) partition.redeliver(partitionIds)
  }

  /** Detaches from the node; pending and later receive() calls reject with ConsumerClosedError. */
  close (): Promise<void> {
    this.closing ??= this.shutDown('close-consumer')
    return this.closing
  }

  /** Deletes the subscription on every partition, then closes. A failure leaves the consumer open. */
  async unsubscribe (): Promise<void> {
    if (this.closing !== undefined) throw this.closedError()
    await Promise.all(this.partitions.map((partition) => partition.close('unsubscribe')))
    await this.close()
  }

  private async shutDown (kind: 'close-consumer'): Promise<void> {
    try {
      await Promise.all(this.partitions.map((partition) => partition.close(kind)))
    } finally {
      this.nacks.clear()
      this.queue.close(this.closedError())
      this.onClose()
    }
  }

  private idOf (message: MessageOrId): MessageId {
    const id = message instanceof MessageId ? message : message?.messageId
    if (!(id instanceof MessageId)) throw new InvalidArgumentError({ argument: 'message', reason: 'expected a Message or a MessageId' })
    return id
  }

  private partitionOf (id: MessageId): PartitionConsumer {
    if (this.closing !== undefined) throw this.closedError()
    const partition = this.partitions.length === 1 ? this.partitions[0] : this.partitions.find((candidate) => candidate.partition === id.partition)
    if (partition === undefined) throw new InvalidArgumentError({ argument: 'messageId', reason: `no partition ${id.partition} on ${this.topicName}` })
    return partition
  }

  private closedError (): Error {
    return new ConsumerClosedError({ topic: this.topicName, subscription: this.subscriptionName })
  }
}
