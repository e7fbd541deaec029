// MessageId = (partition, raft index, batch index): stable once its batch is committed, like
// Pulsar's (ledger, entry, partition, batch). Ordered by partition, then index, then batch
// index; within one partition that is the log order. Encodes as a string
// (`index:partition:batchIndex`, Pulsar's `entry:partition:batch` shape) and as 17 bytes.
import { MalformedMessageError } from './schema.ts'
import { MAX_PARTITIONS, MAX_MESSAGES_PER_BATCH } from './limits.ts'
import { NON_PARTITIONED } from './names.ts'

const BYTES_VERSION = 1
export const MESSAGE_ID_BYTES = 17

export class MessageId {
  /** Partition index, or NON_PARTITIONED (-1). */
  readonly partition: number
  /** Raft log index of the batch entry (>= 1; 0 only in `earliest`). */
  readonly index: number
  /** Position of the message inside its batch (>= 0; -1 only in `earliest`). */
  readonly batchIndex: number

  constructor (partition: number, index: number, batchIndex: number) {
    if (!Number.isSafeInteger(partition) || partition < NON_PARTITIONED || partition >= MAX_PARTITIONS) {
      throw new RangeError(`bad partition ${partition}`)
    }
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad index ${index}`)
    if (!Number.isSafeInteger(batchIndex) || batchIndex < -1 || batchIndex >= MAX_MESSAGES_PER_BATCH) {
      throw new RangeError(`bad batch index ${batchIndex}`)
    }
    this.partition = partition
    this.index = index
    this.batchIndex = batchIndex
  }

  /** Before every message (Pulsar `MessageId.earliest`). */
  static earliest (partition = NON_PARTITIONED): MessageId {
    return new MessageId(partition, 0, -1)
  }

  /** At or after every message (Pulsar `MessageId.latest`): the largest index and batch index. */
  static latest (partition = NON_PARTITIONED): MessageId {
    return new MessageId(partition, Number.MAX_SAFE_INTEGER, MAX_MESSAGES_PER_BATCH - 1)
  }

  compare (other: MessageId): number {
    return compareMessageIds(this, other)
  }

  equals (other: MessageId): boolean {
    return compareMessageIds(this, other) === 0
  }

  toString (): string {
    return `${this.index}:${this.partition}:${this.batchIndex}`
  }

  /** Parses `toString()` output; throws MalformedMessageError. */
  static fromString (text: string): MessageId {
    const match = /^(\d{1,16}):(-1|\d{1,5}):(-1|\d{1,5})$/.exec(text)
    if (match === null) throw new MalformedMessageError({ path: 'messageId', reason: `not index:partition:batchIndex: ${text.slice(0, 64)}` })
    return construct(Number(match[2]), Number(match[1]), Number(match[3]))
  }

  toBytes (): Uint8Array {
    const bytes = new Uint8Array(MESSAGE_ID_BYTES)
    const view = new DataView(bytes.buffer)
    view.setUint8(0, BYTES_VERSION)
    view.setInt32(1, this.partition)
    view.setBigUint64(5, BigInt(this.index))
    view.setInt32(13, this.batchIndex)
    return bytes
  }

  static fromBytes (bytes: Uint8Array): MessageId {
    if (bytes.length !== MESSAGE_ID_BYTES) throw new MalformedMessageError({ path: 'messageId', reason: `expected ${MESSAGE_ID_BYTES} bytes, got ${bytes.length}` })
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (view.getUint8(0) !== BYTES_VERSION) throw new MalformedMessageError({ path: 'messageId', reason: `unknown version ${view.getUint8(0)}` })
    const index = view.getBigUint64(5)
    if (index > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedMessageError({ path: 'messageId', reason: 'index beyond 2^53' })
    return construct(view.getInt32(1), Number(index), view.getInt32(13))
  }

  /** The plain form used inside msgpack messages. */
  toData (): MessageIdData {
    return { partition: this.partition, index: this.index, batchIndex: this.batchIndex }
  }

  static fromData (data: MessageIdData): MessageId {
    return construct(data.partition, data.index, data.batchIndex)
  }
}

/** MessageId as a plain msgpack-able object. */
export interface MessageIdData {
  partition: number
  index: number
  batchIndex: number
}

function construct (partition: number, index: number, batchIndex: number): MessageId {
  try {
    return new MessageId(partition, index, batchIndex)
  } catch (error) {
    throw new MalformedMessageError({ path: 'messageId', reason: (error as Error).message })
  }
}

export function compareMessageIds (a: MessageIdData, b: MessageIdData): number {
  return (a.partition - b.partition) || (a.index - b.index) || (a.batchIndex - b.batchIndex)
}
