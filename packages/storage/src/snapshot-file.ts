// Snapshot files `groups/<group>/<index>-<term>.snap`: written to a temporary name in chunks,
// synced, renamed into place and the directory synced; read back in chunks with the CRC checked.
// Layout: [magic u32][version u16][reserved u16][meta][data length u64][data][crc32c u32], the
// CRC covering every byte before it.
import type { SnapshotMeta } from '@blazar/env'
import { ByteReader, ByteWriter, crc32c, readU32 } from './codec.ts'
import type { Disk, DiskFile } from './disk.ts'
import { joinPath } from './disk.ts'
import { readSnapshotMeta, writeSnapshotMeta } from './journal-format.ts'

export const SNAPSHOT_MAGIC = 0x4e535a42 // "BZSN"

export function snapshotFileName (meta: { index: number, term: number }): string {
  return `${String(meta.index).padStart(20, '0')}-${meta.term}.snap`
}

export function parseSnapshotFileName (name: string): { index: number, term: number } | undefined {
  const match = /^(\d{20})-(\d+)\.snap$/.exec(name)
  return match === null ? undefined : { index: Number(match[1]), term: Number(match[2]) }
}

/** Writes a snapshot durably; returns the number of syncs issued. */
export async function writeSnapshotFile (disk: Disk, dir: string, meta: SnapshotMeta, data: Uint8Array, chunkBytes: number): Promise<number> {
  const header = new ByteWriter(256)
  header.u32(SNAPSHOT_MAGIC).u16(1).u16(0)
  writeSnapshotMeta(header, meta)
  header.u64(data.length)
  const path = joinPath(dir, snapshotFileName(meta))
  const temporary = path + '.tmp'
  const file = await disk.open(temporary, { create: true })
  try {
    await file.truncate(0)
    const headerBytes = header.finish()
    await file.write(0, headerBytes)
    let crc = crc32c(headerBytes)
    let position = headerBytes.length
    for (let offset = 0; offset < data.length; offset += chunkBytes) {
      const chunk = data.subarray(offset, Math.min(data.length, offset + chunkBytes))
      await file.write(position, chunk)
      crc = crc32c(chunk, crc)
      position += chunk.length
    }
    const trailer = new ByteWriter(4).u32(crc).finish()
    await file.write(position, trailer)
    await file.sync()
  } finally {
    await file.close()
  }
  await disk.rename(temporary, path)
  await disk.syncDir(dir)
  return 2
}

export type SnapshotRead =
  | { kind: 'ok', meta: SnapshotMeta, data: Uint8Array }
  | { kind: 'corrupt', file: string, offset: number, reason: string }

export async function readSnapshotFile (disk: Disk, dir: string, meta: { index: number, term: number }, chunkBytes: number): Promise<SnapshotRead> {
  const path = joinPath(dir, snapshotFileName(meta))
  let file: DiskFile
  try {
    file = await disk.open(path, { create: false })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'corrupt', file: path, offset: 0, reason: 'snapshot file missing' }
    throw error
  }
  try {
    const size = await file.size()
    const head = await file.read(0, Math.min(size, 64 * 1024))
    let stored: SnapshotMeta
    let dataStart: number
    let dataLength: number
    try {
      const reader = new ByteReader(head)
      if (reader.u32() !== SNAPSHOT_MAGIC) return { kind: 'corrupt', file: path, offset: 0, reason: 'bad snapshot magic' }
      reader.u16()
      reader.u16()
      stored = readSnapshotMeta(reader)
      dataLength = reader.u64()
      dataStart = reader.position
    } catch {
      return { kind: 'corrupt', file: path, offset: 0, reason: 'unreadable snapshot header' }
    }
    if (dataStart + dataLength + 4 !== size) return { kind: 'corrupt', file: path, offset: 0, reason: `snapshot file is ${size} bytes, expected ${dataStart + dataLength + 4}` }
    let crc = crc32c(head.subarray(0, dataStart))
    const data = new Uint8Array(dataLength)
    for (let offset = 0; offset < dataLength; offset += chunkBytes) {
      const chunk = await file.read(dataStart + offset, Math.min(chunkBytes, dataLength - offset))
      data.set(chunk, offset)
      crc = crc32c(chunk, crc)
    }
    const trailer = await file.read(dataStart + dataLength, 4)
    if (trailer.length !== 4 || readU32(trailer, 0) !== crc) return { kind: 'corrupt', file: path, offset: dataStart + dataLength, reason: 'bad snapshot checksum' }
    if (stored.index !== meta.index || stored.term !== meta.term) return { kind: 'corrupt', file: path, offset: 0, reason: 'snapshot header does not match its name' }
    return { kind: 'ok', meta: stored, data }
  } finally {
    await file.close()
  }
}
