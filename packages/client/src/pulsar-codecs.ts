// The compression codecs of Pulsar's clients (ZLIB, LZ4, ZSTD, SNAPPY) as one list: the client
// registers them, and the node hands them to its partitions, whose compaction reads the keys
// inside compressed batches.
import type { CompressionCodec } from '@blazar/protocol'
import { lz4Codec } from './lz4-codec.ts'
import { snappyCodec } from './snappy-codec.ts'
import { zlibCodec } from './zlib-codec.ts'
import { zstdCodec } from './zstd-codec.ts'

export const PULSAR_CODECS: readonly CompressionCodec[] = [zlibCodec, lz4Codec, zstdCodec, snappyCodec]
