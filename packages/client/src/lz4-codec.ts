// Pulsar's LZ4 compression: one raw LZ4 block (no frame), its size in the batch metadata, as
// the Java (lz4-java) and Go (pierrec/lz4 CompressBlock) clients write it. lz4js does the
// work; its decoder trusts its input, so a block is walked first (checkBlock) and refused
// unless it produces exactly the declared size from matches inside what is already produced,
// which also bounds the decoder's work by that size.
import { compressBlock, compressBound, decompressBlock } from 'lz4js'
import type { CompressionCodec } from '@blazar/protocol'

const MIN_MATCH = 4
/** lz4js's match-finder table: 2^16 positions. */
const HASH_TABLE_SIZE = 1 << 16

export const lz4Codec: CompressionCodec = {
  type: 'LZ4',
  compress (data) {
    const out = new Uint8Array(compressBound(data.length))
    const size = compressBlock(data, out, 0, data.length, new Uint32Array(HASH_TABLE_SIZE))
    return size > 0 ? out.subarray(0, size) : literalBlock(data)
  },
  decompress (data, uncompressedSize) {
    checkBlock(data, uncompressedSize)
    const out = new Uint8Array(uncompressedSize)
    const end = decompressBlock(data, out, 0, data.length, 0)
    if (end !== uncompressedSize) throw new Error(`LZ4 block decoded to ${end} bytes, expected ${uncompressedSize}`)
    return out
  }
}

/** A block of one literal run: what LZ4 writes for data it cannot compress. */
function literalBlock (data: Uint8Array): Uint8Array {
  const header: number[] = []
  if (data.length < 15) {
    header.push(data.length << 4)
  } else {
    header.push(0xf0)
    let rest = data.length - 15
    for (; rest >= 255; rest -= 255) header.push(255)
    header.push(rest)
  }
  const out = new Uint8Array(header.length + data.length)
  out.set(header, 0)
  out.set(data, header.length)
  return out
}

/** Throws unless `block` is a well-formed LZ4 block that decodes to exactly `size` bytes. */
function checkBlock (block: Uint8Array, size: number): void {
  let at = 0
  let produced = 0
  const length = (initial: number): number => {
    let n = initial
    if (initial !== 15) return n
    for (;;) {
      if (at >= block.length) throw new Error('LZ4 block ends inside a length')
      const byte = block[at++]
      n += byte
      if (n > size) throw new Error('LZ4 block produces more than the declared size')
      if (byte !== 255) return n
    }
  }
  while (at < block.length) {
    const token = block[at++]
    const literals = length(token >> 4)
    if (literals > block.length - at) throw new Error('LZ4 literals run past the block')
    at += literals
    produced += literals
    if (produced > size) throw new Error('LZ4 block produces more than the declared size')
    if (at === block.length) break
    if (block.length - at < 2) throw new Error('LZ4 block ends inside a match offset')
    const offset = block[at] | (block[at + 1] << 8)
    at += 2
    if (offset === 0 || offset > produced) throw new Error(`LZ4 match offset ${offset} outside the ${produced} bytes produced`)
    produced += length(token & 0xf) + MIN_MATCH
    if (produced > size) throw new Error('LZ4 block produces more than the declared size')
  }
  if (produced !== size) throw new Error(`LZ4 block produces ${produced} bytes, declared ${size}`)
}
