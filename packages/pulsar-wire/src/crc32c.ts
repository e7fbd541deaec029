// CRC32C (Castagnoli), the checksum of Pulsar payload commands, from the crc-32 package.
import CRC32C from 'crc-32/crc32c.js'

/** The unsigned CRC32C of `data`. */
export function crc32c (data: Uint8Array): number {
  return CRC32C.buf(data, 0) >>> 0
}
