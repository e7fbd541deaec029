// Compression codecs are plugged in by the host: protocol stays pure and portable, so it only
// defines the interface and the `NONE` codec. The client and node register zlib (node:zlib)
// or others under Pulsar's names. A whole batch body is compressed, and its uncompressed size
// travels with it, as in Pulsar.
import { UnsupportedCompressionError } from './errors.ts'
import { MalformedMessageError } from './schema.ts'

/** Pulsar's compression names. */
export const COMPRESSION_TYPES = ['NONE', 'LZ4', 'ZLIB', 'ZSTD', 'SNAPPY'] as const
export type CompressionType = typeof COMPRESSION_TYPES[number]

export interface CompressionCodec {
  readonly type: CompressionType
  compress (data: Uint8Array): Uint8Array
  /** Must return exactly `uncompressedSize` bytes or throw; never allocate beyond it. */
  decompress (data: Uint8Array, uncompressedSize: number): Uint8Array
}

export const noCompression: CompressionCodec = {
  type: 'NONE',
  compress: (data) => data,
  decompress: (data) => data
}

/** The codecs a host can use, by type. `NONE` is always present. */
export class CompressionCodecs {
  private readonly codecs = new Map<CompressionType, CompressionCodec>([['NONE', noCompression]])

  constructor (codecs: readonly CompressionCodec[] = []) {
    for (const codec of codecs) this.codecs.set(codec.type, codec)
  }

  get (type: CompressionType): CompressionCodec {
    const codec = this.codecs.get(type)
    if (codec === undefined) throw new UnsupportedCompressionError({ compression: type })
    return codec
  }

  /** Decompresses and checks the size the sender declared. */
  decompress (type: CompressionType, data: Uint8Array, uncompressedSize: number): Uint8Array {
    const codec = this.get(type)
    let out: Uint8Array
    try {
      out = codec.decompress(data, uncompressedSize)
    } catch (error) {
      throw new MalformedMessageError({ path: 'body', reason: `${type} decompression failed: ${(error as Error).message}` })
    }
    if (out.length !== uncompressedSize) {
      throw new MalformedMessageError({ path: 'body', reason: `decompressed to ${out.length} bytes, declared ${uncompressedSize}` })
    }
    return out
  }
}
