// Frame layer shared by every protocol: [unsigned varint length][body of that many bytes].
// The decoder is pure (bytes in, frame bodies out, no I/O) so it can be fuzzed directly; it
// never allocates more than maxFrameBytes + MAX_VARINT_BYTES of buffered input, and rejects an
// oversized length as soon as the prefix is read, before any body byte is buffered.
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameTooLargeError, MalformedFrameError, TruncatedFrameError } from './errors.ts'
import { MAX_VARINT_BYTES } from './settings.ts'

/** Encodes n (0 <= n < 2^35) as an unsigned LEB128 varint. */
export function encodeVarint (n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** (7 * MAX_VARINT_BYTES)) throw new RangeError(`varint out of range: ${n}`)
  const out = new Uint8Array(varintLength(n))
  let i = 0
  while (n >= 0x80) {
    out[i++] = (n % 0x80) | 0x80
    n = Math.floor(n / 0x80)
  }
  out[i] = n
  return out
}

export function varintLength (n: number): number {
  let length = 1
  while (n >= 0x80) { n = Math.floor(n / 0x80); length++ }
  return length
}

/** The length prefix at the start of `bytes`, `undefined` if more bytes are needed. */
export function readVarint (bytes: Uint8ArrayList | Uint8Array): { value: number, length: number } | undefined {
  let value = 0
  let scale = 1
  const available = Math.min(bytes.byteLength, MAX_VARINT_BYTES)
  for (let i = 0; i < available; i++) {
    const byte = bytes instanceof Uint8Array ? bytes[i] : bytes.get(i)
    value += (byte & 0x7f) * scale
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) throw new MalformedFrameError('non-minimal varint length')
      return { value, length: i + 1 }
    }
    scale *= 0x80
  }
  if (bytes.byteLength >= MAX_VARINT_BYTES) throw new MalformedFrameError(`length prefix longer than ${MAX_VARINT_BYTES} bytes`)
  return undefined
}

/** One frame: the length prefix followed by the body. */
export function encodeFrame (body: Uint8Array, maxFrameBytes: number): Uint8Array[] {
  if (body.byteLength > maxFrameBytes) throw new FrameTooLargeError(body.byteLength, maxFrameBytes)
  if (body.byteLength === 0) throw new MalformedFrameError('empty frame')
  return [encodeVarint(body.byteLength), body]
}

/**
 * Incremental decoder for one stream. push() returns every frame body completed by `chunk`
 * (views into the input where possible) and throws a typed error on a bad prefix or an
 * oversized frame; after a throw the decoder must be discarded with its stream.
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()
  private readonly maxFrameBytes: number
  private expected: number | undefined

  constructor (maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes
  }

  push (chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.buffer.append(chunk)
    const frames: Uint8Array[] = []
    for (;;) {
      if (this.expected === undefined) {
        const prefix = readVarint(this.buffer)
        if (prefix === undefined) return frames
        if (prefix.value > this.maxFrameBytes) throw new FrameTooLargeError(prefix.value, this.maxFrameBytes)
        if (prefix.value === 0) throw new MalformedFrameError('empty frame')
        this.buffer.consume(prefix.length)
        this.expected = prefix.value
      }
      if (this.buffer.byteLength < this.expected) return frames
      frames.push(this.buffer.subarray(0, this.expected))
      this.buffer.consume(this.expected)
      this.expected = undefined
    }
  }

  /** Bytes held for an incomplete frame (bounded by maxFrameBytes + MAX_VARINT_BYTES). */
  get bufferedBytes (): number {
    return this.buffer.byteLength
  }

  /** Call when the stream's read side ends: throws if it ended inside a frame. */
  end (): void {
    if (this.buffer.byteLength > 0 || this.expected !== undefined) throw new TruncatedFrameError(this.buffer.byteLength)
  }
}

/** Pure whole-buffer form of FrameDecoder: the complete frames in `bytes` and the unconsumed rest. */
export function decodeFrames (bytes: Uint8Array, maxFrameBytes: number): { frames: Uint8Array[], rest: number } {
  const decoder = new FrameDecoder(maxFrameBytes)
  const frames = decoder.push(bytes)
  return { frames, rest: decoder.bufferedBytes }
}
