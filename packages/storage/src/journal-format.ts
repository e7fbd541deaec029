// Byte layout of the node-wide journal `journal/<file-seq>.jnl` (docs/storage.md §3): a 20-byte
// file header, then rounds. A round is what one commit round writes with one write and makes
// durable with one fsync: `[crc32c u32][magic u32][length u32][round-seq u64][records]`, the CRC
// covering every byte after itself. Records name groups by a small number declared once per
// journal file (`group` records).
import type { HardState, MembershipConfig, SnapshotMeta } from '@blazar/env'
import { ByteReader, ByteWriter, crc32c, fromUtf8, readU32, readU64, utf8 } from './codec.ts'

export const JOURNAL_MAGIC = 0x4c4a5a42 // "BZJL"
export const ROUND_MAGIC = 0x44525a42 // "BZRD"
export const JOURNAL_VERSION = 1
export const JOURNAL_HEADER_BYTES = 20
export const ROUND_HEADER_BYTES = 20
const NO_VOTE = 0xffff

export const RecordType = {
  group: 1,
  append: 2,
  appendRef: 3,
  truncate: 4,
  hardState: 5,
  snapshot: 6,
  deleteGroup: 7
} as const

/** What the journal knows of one appended entry (its record's identity). */
export interface EntryStamp {
  index: number
  term: number
  crc: number
}

export type JournalRecord =
  | { type: 'group', ref: number, group: string }
  /** Entries with their segment records inline (`records` is their concatenation). */
  | { type: 'append', ref: number, stamps: EntryStamp[], records: Uint8Array }
  /** Entries written straight to the group's segment and synced in the same round. */
  | { type: 'appendRef', ref: number, stamps: EntryStamp[] }
  | { type: 'truncate', ref: number, fromIndex: number }
  | { type: 'hardState', ref: number, state: HardState }
  /** `reset`: the log was discarded whole (term mismatch, or a repair of a corrupted group). */
  | { type: 'snapshot', ref: number, meta: SnapshotMeta, reset: boolean }
  /** The group was deleted: everything the journal and checkpoint said of it before is void. */
  | { type: 'deleteGroup', ref: number }

export function journalFileName (fileSeq: number): string {
  return `${String(fileSeq).padStart(16, '0')}.jnl`
}

export function parseJournalFileName (name: string): number | undefined {
  const match = /^(\d{16})\.jnl$/.exec(name)
  return match === null ? undefined : Number(match[1])
}

export function encodeJournalHeader (fileSeq: number): Uint8Array {
  const writer = new ByteWriter(JOURNAL_HEADER_BYTES)
  writer.u32(JOURNAL_MAGIC).u16(JOURNAL_VERSION).u16(0).u64(fileSeq)
  writer.u32(crc32c(writer.finish()))
  return writer.finish()
}

export function decodeJournalHeader (bytes: Uint8Array): number | undefined {
  if (bytes.length < JOURNAL_HEADER_BYTES || readU32(bytes, 0) !== JOURNAL_MAGIC) return undefined
  if (crc32c(bytes.subarray(0, 16)) !== readU32(bytes, 16)) return undefined
  return readU64(bytes, 8)
}

/** Builds one round's bytes. */
export class RoundWriter {
  readonly writer = new ByteWriter(4096)

  constructor (roundSeq: number) {
    this.writer.u32(0).u32(ROUND_MAGIC).u32(0).u64(roundSeq)
  }

  group (ref: number, group: string): void {
    const name = utf8(group)
    this.writer.u8(RecordType.group).u32(ref).u16(name.length).bytes(name)
  }

  /** Starts an inline append record; the caller then writes `count` segment records of `byteLength` bytes in total. */
  appendHeader (ref: number, count: number, byteLength: number): void {
    this.writer.u8(RecordType.append).u32(ref).u32(count).u32(byteLength)
  }

  appendRef (ref: number, stamps: readonly EntryStamp[]): void {
    this.writer.u8(RecordType.appendRef).u32(ref).u32(stamps.length).u64(stamps[0].index)
    for (const stamp of stamps) this.writer.u64(stamp.term).u32(stamp.crc)
  }

  truncate (ref: number, fromIndex: number): void {
    this.writer.u8(RecordType.truncate).u32(ref).u64(fromIndex)
  }

  hardState (ref: number, state: HardState): void {
    this.writer.u8(RecordType.hardState).u32(ref).u64(state.term).u64(state.commit)
    writeVote(this.writer, state.vote)
  }

  snapshot (ref: number, meta: SnapshotMeta, reset: boolean): void {
    this.writer.u8(RecordType.snapshot).u32(ref)
    writeSnapshotMeta(this.writer, meta)
    this.writer.u8(reset ? 1 : 0)
  }

  deleteGroup (ref: number): void {
    this.writer.u8(RecordType.deleteGroup).u32(ref)
  }

  finish (): Uint8Array {
    const bytes = this.writer.finish()
    this.writer.patchU32(8, bytes.length - ROUND_HEADER_BYTES)
    this.writer.patchU32(0, crc32c(bytes.subarray(4)))
    return bytes
  }
}

export function writeVote (writer: ByteWriter, vote: string | null): void {
  if (vote === null) {
    writer.u16(NO_VOTE)
    return
  }
  const bytes = utf8(vote)
  writer.u16(bytes.length).bytes(bytes)
}

export function readVote (reader: ByteReader): string | null {
  const length = reader.u16()
  return length === NO_VOTE ? null : fromUtf8(reader.bytes(length))
}

export function writeSnapshotMeta (writer: ByteWriter, meta: SnapshotMeta): void {
  const config = utf8(JSON.stringify(meta.config))
  writer.u64(meta.index).u64(meta.term).u32(config.length).bytes(config)
}

export function readSnapshotMeta (reader: ByteReader): SnapshotMeta {
  const index = reader.u64()
  const term = reader.u64()
  const config = JSON.parse(fromUtf8(reader.bytes(reader.u32()))) as MembershipConfig
  return { index, term, config }
}

export type ParsedRound =
  | { kind: 'ok', roundSeq: number, records: Uint8Array, size: number }
  | { kind: 'bad' }

/** Parses the round at `position` of a journal file's bytes. */
export function parseRound (buffer: Uint8Array, position: number, maxRoundBytes: number): ParsedRound {
  if (buffer.length - position < ROUND_HEADER_BYTES) return { kind: 'bad' }
  if (readU32(buffer, position + 4) !== ROUND_MAGIC) return { kind: 'bad' }
  const length = readU32(buffer, position + 8)
  if (length > maxRoundBytes || buffer.length - position < ROUND_HEADER_BYTES + length) return { kind: 'bad' }
  const end = position + ROUND_HEADER_BYTES + length
  if (crc32c(buffer.subarray(position + 4, end)) !== readU32(buffer, position)) return { kind: 'bad' }
  return { kind: 'ok', roundSeq: readU64(buffer, position + 12), records: buffer.subarray(position + ROUND_HEADER_BYTES, end), size: end - position }
}

/** Decodes the records of a round whose CRC has been verified. */
export function decodeRecords (records: Uint8Array, parseStamps: (records: Uint8Array, count: number) => EntryStamp[]): JournalRecord[] {
  const reader = new ByteReader(records)
  const decoded: JournalRecord[] = []
  while (reader.remaining() > 0) {
    const type = reader.u8()
    const ref = reader.u32()
    switch (type) {
      case RecordType.group:
        decoded.push({ type: 'group', ref, group: fromUtf8(reader.bytes(reader.u16())) })
        break
      case RecordType.append: {
        const count = reader.u32()
        const bytes = reader.bytes(reader.u32())
        decoded.push({ type: 'append', ref, stamps: parseStamps(bytes, count), records: bytes })
        break
      }
      case RecordType.appendRef: {
        const count = reader.u32()
        const first = reader.u64()
        const stamps: EntryStamp[] = []
        for (let i = 0; i < count; i++) stamps.push({ index: first + i, term: reader.u64(), crc: reader.u32() })
        decoded.push({ type: 'appendRef', ref, stamps })
        break
      }
      case RecordType.truncate:
        decoded.push({ type: 'truncate', ref, fromIndex: reader.u64() })
        break
      case RecordType.hardState: {
        const term = reader.u64()
        const commit = reader.u64()
        decoded.push({ type: 'hardState', ref, state: { term, commit, vote: readVote(reader) } })
        break
      }
      case RecordType.snapshot: {
        const meta = readSnapshotMeta(reader)
        decoded.push({ type: 'snapshot', ref, meta, reset: reader.u8() === 1 })
        break
      }
      case RecordType.deleteGroup:
        decoded.push({ type: 'deleteGroup', ref })
        break
      default:
        throw new RangeError(`unknown journal record type ${type}`)
    }
  }
  return decoded
}
