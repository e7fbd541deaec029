// The producer's open batch: messages waiting to be sent together, bounded by message count
// and bytes (Pulsar's batchingMaxMessages / batchingMaxBytes, and never beyond the topic's
// maxMessageSize), each with the promise its `send()` returned.
import type { MessageId, ProducerMessage } from '@blazar/protocol'

/** Per-message overhead of the batch body's msgpack encoding, counted towards the byte bounds. */
export const MESSAGE_OVERHEAD_BYTES = 32

export interface PendingMessage {
  message: ProducerMessage
  /** Approximate encoded size: payload, key, properties and overhead. */
  bytes: number
  enqueuedAt: number
  /** Set only on a delayed message, which is alone in its batch. */
  deliverAtTime?: number
  resolve: (id: MessageId) => void
  reject: (error: Error) => void
}

export function messageBytes (message: Omit<ProducerMessage, 'sequenceId'>): number {
  let bytes = message.payload.length + MESSAGE_OVERHEAD_BYTES + (message.key?.length ?? 0)
  for (const [name, value] of Object.entries(message.properties)) bytes += name.length + value.length + 2
  return bytes
}

export class BatchBuilder {
  private messages: PendingMessage[] = []
  private size = 0
  private readonly maxMessages: number
  private readonly maxBytes: number

  constructor (maxMessages: number, maxBytes: number) {
    this.maxMessages = maxMessages
    this.maxBytes = maxBytes
  }

  get count (): number {
    return this.messages.length
  }

  get bytes (): number {
    return this.size
  }

  /** Whether `bytes` more would overflow a batch that already holds something. */
  wouldOverflow (bytes: number): boolean {
    return this.messages.length > 0 && this.size + bytes > this.maxBytes
  }

  get full (): boolean {
    return this.messages.length >= this.maxMessages || this.size >= this.maxBytes
  }

  add (pending: PendingMessage): void {
    this.messages.push(pending)
    this.size += pending.bytes
  }

  /** Takes every message out, in send order. */
  drain (): PendingMessage[] {
    const messages = this.messages
    this.messages = []
    this.size = 0
    return messages
  }
}
