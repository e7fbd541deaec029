// Byte layout of a segment file `groups/<group>/<first-index>.log` (docs/storage.md §2):
// a 20-byte header, then records `[crc32c u32][length u32][term u64][index u64][kind u32][data]`,
// the CRC covering every byte after itself. Records are self-delimiting and carry their own
// index and term, so a misplaced or torn record is detected, not misread.
import type { LogEntry } from '@blazar/env'
import { ByteWriter, crc32c, readU32, readU64 } from './codec.ts'

export const SEGMENT_MAGIC = 0x47535a42 // "BZSG"
export const SEGMENT_VERSION = 1
export const SEGMENT_HEADER_BYTES = 20
export const RECORD_HEADER_BYTES = 28

export function segmentFileName (firstIndex: number): string {
  return `${String(firstIndex).padStart(20, '0')}.log`
}

/** First index of a segment file name, or undefined if the name is not a segment's. */
export function parseSegmentFileName (name: string): number | undefined {
  const match = /^(\d{20})\.log$/.exec(name)
  return match === null ? undefined : Number(match[1])
}

export function encodeSegmentHeader (firstIndex: number): Uint8Array {
  const writer = new ByteWriter(SEGMENT_HEADER_BYTES)
  writer.u32(SEGMENT_MAGIC).u16(SEGMENT_VERSION).u16(0).u64(firstIndex)
  writer.u32(crc32c(writer.finish()))
  return writer.finish()
}

/** The header's first index, or undefined if the header is short or fails its checks. */
export function decodeSegmentHeader (bytes: Uint8Array): number | undefined {
  if (bytes.length < SEGMENT_HEADER_BYTES) return undefined
  if (readU32(bytes, 0) !== SEGMENT_MAGIC || (bytes[4] | (bytes[5] << 8)) !== SEGMENT_VERSION) return undefined
  if (crc32c(bytes.subarray(0, 16)) !== readU32(bytes, 16)) return undefined
  return readU64(bytes, 8)
}

/** Size on disk of an entry's record. */
export function recordBytes (entry: LogEntry): number {
  return RECORD_HEADER_BYTES + entry.data.length
}

/** Appends an entry's record to `writer`; returns the record's CRC. */
export function writeRecord (writer: ByteWriter, entry: LogEntry): number {
  const start = writer.length
  writer.u32(0).u32(entry.data.length).u64(entry.term).u64(entry.index).u32(entry.kind).bytes(entry.data)
  const bytes = writer.finish()
  const crc = crc32c(bytes.subarray(start + 4, writer.length))
  writer.patchU32(start, crc)
  return crc
}

export interface ParsedRecord {
  index: number
  term: number
  kind: number
  crc: number
  /** Position of the data within the parsed buffer. */
  dataStart: number
  dataLength: number
  /** Whole record size. */
  size: number
}

/**
 * Parses the record at `position`. `short`: the buffer ends inside the record (read more, or a
 * torn tail); `bad`: its length is impossible or its CRC does not match.
 */
export function parseRecord (buffer: Uint8Array, position: number, maxEntryBytes: number): ParsedRecord | 'short' | 'bad' {
  if (buffer.length - position < RECORD_HEADER_BYTES) return 'short'
  const dataLength = readU32(buffer, position + 4)
  if (dataLength > maxEntryBytes) return 'bad'
  const size = RECORD_HEADER_BYTES + dataLength
  if (buffer.length - position < size) return 'short'
  const crc = readU32(buffer, position)
  if (crc32c(buffer.subarray(position + 4, position + size)) !== crc) return 'bad'
  return {
    index: readU64(buffer, position + 16),
    term: readU64(buffer, position + 8),
    kind: readU32(buffer, position + 24),
    crc,
    dataStart: position + RECORD_HEADER_BYTES,
    dataLength,
    size
  }
}

/** The entry held by a parsed record (its data copied out of the buffer). */
export function recordEntry (buffer: Uint8Array, record: ParsedRecord): LogEntry {
  return {
    index: record.index,
    term: record.term,
    kind: record.kind,
    data: new Uint8Array(buffer.subarray(record.dataStart, record.dataStart + record.dataLength))
  }
}
