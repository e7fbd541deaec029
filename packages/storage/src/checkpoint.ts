// The checkpoint file: where journal replay starts and each group's durable term, vote, commit
// and snapshot as of that point. Written to `checkpoint.tmp`, synced, renamed over `checkpoint`
// and the directory synced, so it is always whole. Layout: [magic u32][version u16][reserved u16]
// [journal start u64][next round seq u64][group count u32] groups... [crc32c u32 of all before];
// a group is [name length u16][name][last index u64][term u64][commit u64][vote][snapshot?].
import type { HardState, SnapshotMeta } from '@blazar/env'
import { ByteReader, ByteWriter, crc32c, fromUtf8, readU32, utf8 } from './codec.ts'
import type { Disk } from './disk.ts'
import { StoreCorruptedError } from './errors.ts'
import { readSnapshotMeta, readVote, writeSnapshotMeta, writeVote } from './journal-format.ts'

export const CHECKPOINT_MAGIC = 0x4b435a42 // "BZCK"
export const CHECKPOINT_FILE = 'checkpoint'

/** What the store keeps durable for each group outside its segments. */
export interface GroupMeta {
  hardState: HardState
  snapshot: SnapshotMeta | null
  /** Last index of the group's log as of the journal: segment entries past it were never made durable. */
  lastIndex: number
}

export interface Checkpoint {
  /** First journal file to replay. */
  journalStart: number
  nextRoundSeq: number
  groups: Map<string, GroupMeta>
}

export function encodeCheckpoint (checkpoint: Checkpoint): Uint8Array {
  const writer = new ByteWriter(1024 + checkpoint.groups.size * 64)
  writer.u32(CHECKPOINT_MAGIC).u16(1).u16(0).u64(checkpoint.journalStart).u64(checkpoint.nextRoundSeq).u32(checkpoint.groups.size)
  for (const [group, meta] of checkpoint.groups) {
    const name = utf8(group)
    writer.u16(name.length).bytes(name).u64(meta.lastIndex).u64(meta.hardState.term).u64(meta.hardState.commit)
    writeVote(writer, meta.hardState.vote)
    if (meta.snapshot === null) writer.u8(0)
    else {
      writer.u8(1)
      writeSnapshotMeta(writer, meta.snapshot)
    }
  }
  writer.u32(crc32c(writer.finish()))
  return writer.finish()
}

export function decodeCheckpoint (bytes: Uint8Array): Checkpoint {
  const corrupt = (reason: string): StoreCorruptedError => new StoreCorruptedError({ file: CHECKPOINT_FILE, offset: 0, reason })
  if (bytes.length < 4 || crc32c(bytes.subarray(0, bytes.length - 4)) !== readU32(bytes, bytes.length - 4)) throw corrupt('bad checkpoint checksum')
  const reader = new ByteReader(bytes.subarray(0, bytes.length - 4))
  if (reader.u32() !== CHECKPOINT_MAGIC) throw corrupt('bad checkpoint magic')
  reader.u16()
  reader.u16()
  const journalStart = reader.u64()
  const nextRoundSeq = reader.u64()
  const count = reader.u32()
  const groups = new Map<string, GroupMeta>()
  for (let i = 0; i < count; i++) {
    const group = fromUtf8(reader.bytes(reader.u16()))
    const lastIndex = reader.u64()
    const term = reader.u64()
    const commit = reader.u64()
    const vote = readVote(reader)
    const snapshot = reader.u8() === 1 ? readSnapshotMeta(reader) : null
    groups.set(group, { hardState: { term, vote, commit }, snapshot, lastIndex })
  }
  return { journalStart, nextRoundSeq, groups }
}

export async function readCheckpoint (disk: Disk): Promise<Checkpoint | null> {
  if (!(await disk.list('')).includes(CHECKPOINT_FILE)) return null
  const file = await disk.open(CHECKPOINT_FILE, { create: false })
  try {
    return decodeCheckpoint(await file.read(0, await file.size()))
  } finally {
    await file.close()
  }
}

/** Writes the checkpoint durably; returns the number of syncs issued. */
export async function writeCheckpoint (disk: Disk, checkpoint: Checkpoint): Promise<number> {
  const temporary = CHECKPOINT_FILE + '.tmp'
  const file = await disk.open(temporary, { create: true })
  try {
    await file.truncate(0)
    await file.write(0, encodeCheckpoint(checkpoint))
    await file.sync()
  } finally {
    await file.close()
  }
  await disk.rename(temporary, CHECKPOINT_FILE)
  await disk.syncDir('')
  return 2
}
