// Pulsar's SNAPPY compression (raw Snappy, no framing, as the Java and Go clients write it) on
// snappyjs. Its decoder trusts its input: a 4-byte literal length with the top bit set turns
// negative and walks its read position backwards for billions of steps (fast-check seed 9 of
// codecs.test.ts found it: SNAPPY 2ffcfe43e0a470). So a block is walked first (checkBlock) and
// refused unless it produces exactly the declared size from copies inside what is already
// produced, which also bounds the decoder's work by the block's length.
import { compress, uncompress } from 'snappyjs'
import type { CompressionCodec } from '@blazar/protocol'

export const snappyCodec: CompressionCodec = {
  type: 'SNAPPY',
  compress: (data) => compress(data),
  decompress (data, uncompressedSize) {
    checkBlock(data, uncompressedSize)
    return uncompress(data, uncompressedSize)
  }
}

/** Throws unless `block` is a well-formed raw Snappy block that decodes to exactly `size` bytes. */
function checkBlock (block: Uint8Array, size: number): void {
  let at = 0
  const byte = (): number => {
    if (at >= block.length) throw new Error('Snappy block ends inside an element')
    return block[at++]
  }
  let declared = 0
  for (let shift = 0; ; shift += 7) {
    if (shift > 28) throw new Error('Snappy block has an overlong length preamble')
    const b = byte()
    declared += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  if (declared !== size) throw new Error(`Snappy block declares ${declared} bytes, the metadata says ${size}`)
  let produced = 0
  const produce = (length: number): void => {
    produced += length
    if (produced > size) throw new Error('Snappy block produces more than the declared size')
  }
  while (at < block.length) {
    const tag = byte()
    const kind = tag & 0x3
    if (kind === 0) {
      let length = (tag >>> 2) + 1
      if (length > 60) {
        const width = length - 60
        length = 0
        for (let i = 0; i < width; i++) length += byte() * 2 ** (8 * i)
        length += 1
      }
      if (length > block.length - at) throw new Error('Snappy literal runs past the end of the block')
      at += length
      produce(length)
      continue
    }
    let length: number
    let offset: number
    if (kind === 1) {
      length = ((tag >>> 2) & 0x7) + 4
      offset = ((tag >>> 5) << 8) + byte()
    } else {
      length = (tag >>> 2) + 1
      const width = kind === 2 ? 2 : 4
      offset = 0
      for (let i = 0; i < width; i++) offset += byte() * 2 ** (8 * i)
    }
    if (offset === 0 || offset > produced) throw new Error('Snappy copy refers outside what the block has produced')
    produce(length)
  }
  if (produced !== size) throw new Error(`Snappy block decoded to ${produced} bytes, expected ${size}`)
}
