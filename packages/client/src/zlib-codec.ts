// Pulsar's ZLIB compression on node:zlib. Java clients end their stream with a sync flush and
// no final block, so inflating accepts that. Inflating stops at the declared size, so a hostile
// batch cannot make the client allocate past it.
import { constants, deflateSync, inflateSync } from 'node:zlib'
import type { CompressionCodec } from '@blazar/protocol'

export const zlibCodec: CompressionCodec = {
  type: 'ZLIB',
  compress: (data) => deflateSync(data),
  decompress: (data, uncompressedSize) => inflateSync(data, {
    maxOutputLength: Math.max(1, uncompressedSize), finishFlush: constants.Z_SYNC_FLUSH
  })
}
