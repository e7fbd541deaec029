// Pulsar's ZLIB compression on node:zlib. Inflating stops at the declared size, so a hostile
// batch cannot make the client allocate past it.
import { deflateSync, inflateSync } from 'node:zlib'
import type { CompressionCodec } from '@blazar/protocol'

export const zlibCodec: CompressionCodec = {
  type: 'ZLIB',
  compress: (data) => deflateSync(data),
  decompress: (data, uncompressedSize) => inflateSync(data, { maxOutputLength: Math.max(1, uncompressedSize) })
}
