// Pulsar's Reader: reads a topic from a chosen message without a durable subscription. It is a
// Consumer on an Exclusive, non-durable subscription (`durable: false`) that starts at
// `startMessageId` (Pulsar `start_message_id`, inclusive or not), acknowledges cumulatively as
// it reads, and re-subscribes after the last message it handed out.
import { InvalidArgumentError, MessageId, type InitialPosition } from '@blazar/protocol'
import type { Consumer } from './consumer.ts'
import type { Message } from './message.ts'
import type { ReaderOptions } from './options.ts'
import type { StartPoint } from './start-point.ts'

/** Where a reader's subscription starts: the initial position, and the start point for a specific message. */
export function readerStart (options: ReaderOptions): { initialPosition: InitialPosition, point: StartPoint | undefined } {
  const id = options.startMessageId
  if (!(id instanceof MessageId)) throw new InvalidArgumentError({ argument: 'startMessageId', reason: 'expected a MessageId (MessageId.earliest(), MessageId.latest() or a message ID)' })
  const inclusive = options.startMessageIdInclusive ?? false
  if (typeof inclusive !== 'boolean') throw new InvalidArgumentError({ argument: 'startMessageIdInclusive', reason: 'must be a boolean' })
  if (id.equals(MessageId.earliest(id.partition))) return { initialPosition: 'Earliest', point: undefined }
  if (id.equals(MessageId.latest(id.partition))) return { initialPosition: 'Latest', point: undefined }
  // Earliest, so that a node which ignores startMessageId still delivers from before the start point.
  return { initialPosition: 'Earliest', point: { id, inclusive } }
}

export class Reader {
  private readonly topicName: string
  private readonly consumer: Consumer
  private readonly queuedMessages: () => number

  constructor (options: { topic: string, consumer: Consumer, queuedMessages: () => number }) {
    this.topicName = options.topic
    this.consumer = options.consumer
    this.queuedMessages = options.queuedMessages
  }

  getTopic (): string {
    return this.topicName
  }

  isConnected (): boolean {
    return this.consumer.isConnected()
  }

  /** The next message; with `timeoutMs`, rejects with TimeoutError when none arrives in time. */
  async readNext (timeoutMs?: number): Promise<Message> {
    return await this.consumer.receive(timeoutMs)
  }

  /**
   * Whether a message is ready to read. It reports the messages the node has pushed (the node
   * pushes each committed message while the reader has permits); it does not yet ask the
   * node for the topic's last message ID (get-last-message-id).
   */
  async hasMessageAvailable (): Promise<boolean> {
    return this.queuedMessages() > 0
  }

  /** Moves the reader to a message ID, MessageId.earliest() / latest(), or a publish time (ms). */
  async seek (target: MessageId | number): Promise<void> {
    await this.consumer.seek(target)
  }

  /**
   * Closes the reader. Its subscription is unsubscribed first: a node that keeps readers'
   * subscriptions as durable cursors (this branch's) would otherwise keep one per reader
   * forever, holding back retention; a non-durable one ends either way.
   */
  async close (): Promise<void> {
    await this.consumer.unsubscribe().catch(() => {})
    await this.consumer.close()
  }
}
