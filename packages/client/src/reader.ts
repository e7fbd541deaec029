// Pulsar's Reader: reads a topic from a chosen message without a durable subscription. It is a
// Consumer on an Exclusive, non-durable subscription (`durable: false`) that starts at
// `startMessageId` (Pulsar `start_message_id`, inclusive or not), acknowledges cumulatively as
// it reads, and re-subscribes after the last message it handed out. `hasMessageAvailable` asks
// the node for each partition's last message ID (GET_LAST_MESSAGE_ID), as Pulsar's readers do.
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
  /** The last message handed out, per partition topic (forgotten on seek). */
  private readonly lastRead = new Map<string, MessageId>()
  /** The start message ID until the first seek (a non-partitioned topic's reader only). */
  private start: StartPoint | undefined

  constructor (options: { topic: string, consumer: Consumer, queuedMessages: () => number, start: StartPoint | undefined }) {
    this.topicName = options.topic
    this.consumer = options.consumer
    this.queuedMessages = options.queuedMessages
    this.start = options.start
  }

  getTopic (): string {
    return this.topicName
  }

  isConnected (): boolean {
    return this.consumer.isConnected()
  }

  /** The next message; with `timeoutMs`, rejects with TimeoutError when none arrives in time. */
  async readNext (timeoutMs?: number): Promise<Message> {
    const message = await this.consumer.receive(timeoutMs)
    this.lastRead.set(message.topic, message.messageId)
    return message
  }

  /**
   * Whether a message is there to read (Pulsar's hasMessageAvailable): one is queued, or some
   * partition's last stored message (GET_LAST_MESSAGE_ID) lies beyond the last message read
   * from it (before the first read: at or beyond the start message ID, as inclusive says) and
   * beyond the reader's mark-delete position at the node (where it started, or what it
   * acknowledged): a message committed but not pushed yet counts.
   */
  async hasMessageAvailable (): Promise<boolean> {
    if (this.queuedMessages() > 0) return true
    for (const { topic, lastMessageId, markDeletePosition } of await this.consumer.lastMessageIds()) {
      if (lastMessageId.batchIndex < 0) continue // nothing stored
      if (lastMessageId.index <= markDeletePosition.index) continue
      const read = this.lastRead.get(topic)
      if (read !== undefined && lastMessageId.compare(read) <= 0) continue
      if (read === undefined && this.start !== undefined) {
        const beyond = lastMessageId.compare(this.start.id)
        if (beyond < 0 || (beyond === 0 && !this.start.inclusive)) continue
      }
      return true
    }
    return false
  }

  /** Moves the reader to a message ID, MessageId.earliest() / latest(), or a publish time (ms). */
  async seek (target: MessageId | number): Promise<void> {
    await this.consumer.seek(target)
    this.lastRead.clear()
    this.start = undefined
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
