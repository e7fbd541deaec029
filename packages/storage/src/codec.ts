// Little-endian binary writing and reading for the on-disk formats, and the CRC32C they use.
// 64-bit fields hold JavaScript safe integers (indexes, terms, offsets) as two u32 halves.
import { crc32c as nativeCrc32c } from '@node-rs/crc32'
import { assert } from './errors.ts'

export function crc32c (bytes: Uint8Array, initial?: number): number {
  return nativeCrc32c(bytes, initial) >>> 0
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

export function utf8 (text: string): Uint8Array {
  return textEncoder.encode(text)
}

export function fromUtf8 (bytes: Uint8Array): string {
  return textDecoder.decode(bytes)
}

/** Appends fields to a growable buffer. */
export class ByteWriter {
  private buffer: Uint8Array
  private view: DataView
  length = 0

  constructor (capacity = 256) {
    this.buffer = new Uint8Array(capacity)
    this.view = new DataView(this.buffer.buffer)
  }

  u8 (value: number): this {
    this.reserve(1)
    this.view.setUint8(this.length, value)
    this.length += 1
    return this
  }

  u16 (value: number): this {
    this.reserve(2)
    this.view.setUint16(this.length, value, true)
    this.length += 2
    return this
  }

  u32 (value: number): this {
    this.reserve(4)
    this.view.setUint32(this.length, value, true)
    this.length += 4
    return this
  }

  u64 (value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, `u64 field must be a non-negative safe integer, got ${value}`)
    this.reserve(8)
    this.view.setUint32(this.length, value % 0x1_0000_0000, true)
    this.view.setUint32(this.length + 4, Math.floor(value / 0x1_0000_0000), true)
    this.length += 8
    return this
  }

  bytes (data: Uint8Array): this {
    this.reserve(data.length)
    this.buffer.set(data, this.length)
    this.length += data.length
    return this
  }

  /** Overwrites a u32 already written at `position`. */
  patchU32 (position: number, value: number): void {
    this.view.setUint32(position, value, true)
  }

  /** The bytes written so far (a view, not a copy). */
  finish (): Uint8Array {
    return this.buffer.subarray(0, this.length)
  }

  private reserve (bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return
    const grown = new Uint8Array(Math.max(this.length + bytes, this.buffer.length * 2))
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
    this.view = new DataView(grown.buffer)
  }
}

/** Thrown by ByteReader when a field runs past the end of its buffer. */
export class ShortReadError extends Error {
  static readonly code = 'SHORT_READ'
  readonly code = ShortReadError.code
  constructor () {
    super('field runs past the end of the buffer')
    this.name = 'ShortReadError'
  }
}

/** Reads fields in order from a buffer. */
export class ByteReader {
  readonly buffer: Uint8Array
  private readonly view: DataView
  position: number

  constructor (buffer: Uint8Array, position = 0) {
    this.buffer = buffer
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    this.position = position
  }

  remaining (): number {
    return this.buffer.length - this.position
  }

  u8 (): number {
    this.need(1)
    return this.view.getUint8(this.position++)
  }

  u16 (): number {
    this.need(2)
    const value = this.view.getUint16(this.position, true)
    this.position += 2
    return value
  }

  u32 (): number {
    this.need(4)
    const value = this.view.getUint32(this.position, true)
    this.position += 4
    return value
  }

  u64 (): number {
    this.need(8)
    const low = this.view.getUint32(this.position, true)
    const high = this.view.getUint32(this.position + 4, true)
    this.position += 8
    if (high > 0x1f_ffff) throw new ShortReadError()
    return high * 0x1_0000_0000 + low
  }

  bytes (length: number): Uint8Array {
    this.need(length)
    const value = this.buffer.subarray(this.position, this.position + length)
    this.position += length
    return value
  }

  private need (bytes: number): void {
    if (this.position + bytes > this.buffer.length) throw new ShortReadError()
  }
}

export function readU32 (buffer: Uint8Array, position: number): number {
  return (buffer[position] | (buffer[position + 1] << 8) | (buffer[position + 2] << 16) | (buffer[position + 3] << 24)) >>> 0
}

export function readU64 (buffer: Uint8Array, position: number): number {
  return readU32(buffer, position + 4) * 0x1_0000_0000 + readU32(buffer, position)
}
