// Pulsar framing. A simple command is `[totalSize][commandSize][BaseCommand]`; a payload command
// (SEND, MESSAGE) continues with `[0x0e01][CRC32C][metadataSize][MessageMetadata][payload]`, the
// CRC32C covering everything from metadataSize to the end, and may carry broker-entry metadata
// `[0x0e02][size][BrokerEntryMetadata]` before the 0x0e01 magic. Sizes are 4-byte big-endian.
// FrameDecoder turns a byte stream into whole frames; after any error it stays failed, since
// the stream can no longer be trusted.
import { crc32c } from './crc32c.ts'
import { decodeBaseCommand, encodeBaseCommand, type Command, type CommandInit } from './command.ts'
import {
  BadFrameSizeError, BadMagicError, ChecksumMismatchError, FrameTooLargeError, PulsarWireError, TruncatedFrameError
} from './errors.ts'
import { DEFAULT_MAX_FRAME_SIZE } from './limits.ts'
import { encodeMetadataAndPayload, readUint32, splitMetadataAndPayload, writeUint32 } from './metadata.ts'
import { decodeMessage, encodeMessage } from './proto.ts'
import type { BrokerEntryMetadata, BrokerEntryMetadataInit, MessageMetadata, MessageMetadataInit } from './pulsar-api.ts'

export const PAYLOAD_MAGIC = 0x0e01
export const BROKER_ENTRY_METADATA_MAGIC = 0x0e02
/** Command types whose frames carry metadata and payload. */
const PAYLOAD_COMMANDS: ReadonlySet<string> = new Set(['SEND', 'MESSAGE'])

export interface FramePayload {
  /** Present when the sender put broker-entry metadata (0x0e02) before the payload magic. */
  brokerEntryMetadata?: BrokerEntryMetadata
  /** The CRC32C the frame carried (verified). */
  checksum: number
  metadata: MessageMetadata
  /** `[metadataSize][MessageMetadata][payload]` exactly as received (what the checksum covers). */
  metadataAndPayload: Uint8Array
  /** The (maybe compressed, maybe batched) payload after the metadata. */
  payload: Uint8Array
}

export interface Frame {
  command: Command
  /** Set for SEND and MESSAGE frames, absent for every other command. */
  payload?: FramePayload
}

export interface FrameDecoderOptions {
  /** The largest whole frame, 4-byte totalSize included (default DEFAULT_MAX_FRAME_SIZE, Pulsar's 5 MiB + 10 KiB). */
  maxFrameSize?: number
}

/** Streaming decoder: `push(bytes)` returns the frames completed so far, throws a PulsarWireError on bad input. */
export class FrameDecoder {
  readonly maxFrameSize: number
  private chunks: Uint8Array[] = []
  private buffered = 0
  private failure: PulsarWireError | undefined

  constructor (options: FrameDecoderOptions = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE
    if (!Number.isSafeInteger(this.maxFrameSize) || this.maxFrameSize < 8) throw new RangeError(`maxFrameSize ${this.maxFrameSize} is below 8`)
  }

  /** Bytes received that do not yet form a whole frame. */
  get bufferedBytes (): number {
    return this.buffered
  }

  push (chunk: Uint8Array): Frame[] {
    if (this.failure !== undefined) throw this.failure
    if (chunk.length > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.length
    }
    const frames: Frame[] = []
    try {
      for (;;) {
        if (this.buffered < 4) break
        const totalSize = readUint32(this.peek(4), 0)
        if (totalSize + 4 > this.maxFrameSize) throw new FrameTooLargeError(totalSize + 4, this.maxFrameSize)
        if (this.buffered < totalSize + 4) break
        const frame = this.take(totalSize + 4)
        frames.push(decodeFrame(frame.subarray(4)))
      }
    } catch (error) {
      if (!(error instanceof PulsarWireError)) throw error
      this.failure = error
      this.chunks = []
      this.buffered = 0
      throw this.failure
    }
    return frames
  }

  /** Call when the stream ends: a partial frame left over is a TruncatedFrameError. */
  finish (): void {
    if (this.failure !== undefined) throw this.failure
    if (this.buffered > 0) {
      this.failure = new TruncatedFrameError(`stream ended inside a frame (${this.buffered} bytes buffered)`)
      throw this.failure
    }
  }

  private peek (n: number): Uint8Array {
    if (this.chunks[0].length >= n) return this.chunks[0]
    const out = new Uint8Array(n)
    let offset = 0
    for (const chunk of this.chunks) {
      const part = chunk.subarray(0, n - offset)
      out.set(part, offset)
      offset += part.length
      if (offset === n) break
    }
    return out
  }

  private take (n: number): Uint8Array {
    const out = new Uint8Array(n)
    let offset = 0
    while (offset < n) {
      const chunk = this.chunks[0]
      const part = chunk.subarray(0, n - offset)
      out.set(part, offset)
      offset += part.length
      if (part.length === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(part.length)
    }
    this.buffered -= n
    return out
  }
}

/** Decodes one frame without its 4-byte totalSize (so `body.length` is totalSize). */
export function decodeFrame (body: Uint8Array): Frame {
  if (body.length < 4) throw new TruncatedFrameError(`frame of ${body.length} bytes has no commandSize`)
  const commandSize = readUint32(body, 0)
  if (commandSize > body.length - 4) throw new BadFrameSizeError(`commandSize ${commandSize} exceeds the frame's ${body.length - 4} bytes`)
  const command = decodeBaseCommand(body.subarray(4, 4 + commandSize))
  const rest = body.subarray(4 + commandSize)
  if (!PAYLOAD_COMMANDS.has(command.type)) {
    if (rest.length > 0) throw new BadFrameSizeError(`${command.type} frame has ${rest.length} bytes after its command`)
    return { command }
  }
  if (rest.length === 0) throw new BadFrameSizeError(`${command.type} frame has no metadata and payload`)
  return { command, payload: decodePayloadSection(rest) }
}

function decodePayloadSection (section: Uint8Array): FramePayload {
  let offset = 0
  let brokerEntryMetadata: BrokerEntryMetadata | undefined
  const need = (n: number, what: string): void => {
    if (section.length - offset < n) throw new TruncatedFrameError(`frame ends inside ${what}`)
  }
  need(2, 'the payload magic')
  if (((section[0] << 8) | section[1]) === BROKER_ENTRY_METADATA_MAGIC) {
    need(6, 'the broker-entry metadata size')
    const size = readUint32(section, 2)
    offset = 6
    need(size, 'the broker-entry metadata')
    brokerEntryMetadata = decodeMessage<BrokerEntryMetadata>('BrokerEntryMetadata', section.subarray(offset, offset + size))
    offset += size
    need(2, 'the payload magic')
  }
  const magic = (section[offset] << 8) | section[offset + 1]
  if (magic !== PAYLOAD_MAGIC) throw new BadMagicError(magic)
  offset += 2
  need(8, 'the checksum and metadata size')
  const checksum = readUint32(section, offset)
  offset += 4
  const metadataAndPayload = section.slice(offset)
  const actual = crc32c(metadataAndPayload)
  if (actual !== checksum) throw new ChecksumMismatchError(checksum, actual)
  const { metadata, payload } = splitMetadataAndPayload(metadataAndPayload)
  const result: FramePayload = { checksum, metadata, metadataAndPayload, payload }
  if (brokerEntryMetadata !== undefined) result.brokerEntryMetadata = brokerEntryMetadata
  return result
}

/** A simple command frame `[totalSize][commandSize][BaseCommand]`. */
export function encodeCommand (cmd: CommandInit): Uint8Array {
  const commandBytes = encodeBaseCommand(cmd)
  const out = new Uint8Array(8 + commandBytes.length)
  writeUint32(out, 0, 4 + commandBytes.length)
  writeUint32(out, 4, commandBytes.length)
  out.set(commandBytes, 8)
  return out
}

/** A payload command frame around an already encoded `[metadataSize][MessageMetadata][payload]` (e.g. a stored body). */
export function encodePayloadFrame (cmd: CommandInit, metadataAndPayload: Uint8Array, brokerEntryMetadata?: BrokerEntryMetadataInit): Uint8Array {
  const commandBytes = encodeBaseCommand(cmd)
  const entryBytes = brokerEntryMetadata === undefined ? undefined : encodeMessage('BrokerEntryMetadata', brokerEntryMetadata)
  const entrySection = entryBytes === undefined ? 0 : 6 + entryBytes.length
  const totalSize = 4 + commandBytes.length + entrySection + 6 + metadataAndPayload.length
  const out = new Uint8Array(4 + totalSize)
  writeUint32(out, 0, totalSize)
  writeUint32(out, 4, commandBytes.length)
  out.set(commandBytes, 8)
  let offset = 8 + commandBytes.length
  if (entryBytes !== undefined) {
    out[offset] = BROKER_ENTRY_METADATA_MAGIC >>> 8
    out[offset + 1] = BROKER_ENTRY_METADATA_MAGIC & 0xff
    writeUint32(out, offset + 2, entryBytes.length)
    out.set(entryBytes, offset + 6)
    offset += entrySection
  }
  out[offset] = PAYLOAD_MAGIC >>> 8
  out[offset + 1] = PAYLOAD_MAGIC & 0xff
  writeUint32(out, offset + 2, crc32c(metadataAndPayload))
  out.set(metadataAndPayload, offset + 6)
  return out
}

/** A payload command frame: the command, then checksummed metadata and payload. */
export function encodePayloadCommand (cmd: CommandInit, metadata: MessageMetadataInit, payload: Uint8Array): Uint8Array {
  return encodePayloadFrame(cmd, encodeMetadataAndPayload(metadata, payload))
}
