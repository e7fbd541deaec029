// CRC32C (Castagnoli), the checksum of Pulsar payload commands: @node-rs/crc32, the library
// @blazar/storage uses for its records too.
import { crc32c as nativeCrc32c } from '@node-rs/crc32'

/** The unsigned CRC32C of `data`. */
export function crc32c (data: Uint8Array): number {
  return nativeCrc32c(data) >>> 0
}
