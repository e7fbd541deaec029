// Pulsar's ZSTD compression on node:zlib (Node 22.15 and later). Decompressing stops at the
// declared size.
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import type { CompressionCodec } from '@blazar/protocol'

export const zstdCodec: CompressionCodec = {
  type: 'ZSTD',
  compress: (data) => zstdCompressSync(data),
  decompress: (data, uncompressedSize) => zstdDecompressSync(data, { maxOutputLength: Math.max(1, uncompressedSize) })
}
