// Pulsar's SNAPPY compression (raw Snappy, no framing, as the Java and Go clients write it) on
// snappyjs, which refuses a declared length above the one the batch metadata gives.
import { compress, uncompress } from 'snappyjs'
import type { CompressionCodec } from '@blazar/protocol'

export const snappyCodec: CompressionCodec = {
  type: 'SNAPPY',
  compress: (data) => compress(data),
  decompress: (data, uncompressedSize) => uncompress(data, uncompressedSize)
}
