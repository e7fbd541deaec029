// The section of a payload command after its checksum, `[metadataSize][MessageMetadata][payload]`:
// what a Pulsar client sends and what Blazar stores as a batch body. No checksum here (that is
// the frame's), so this module and `@blazar/pulsar-wire/messages` stay pure JS.
import { BadFrameSizeError, TruncatedFrameError } from './errors.ts'
import { decodeMessage, encodeMessage } from './proto.ts'
import type { MessageMetadata, MessageMetadataInit } from './pulsar-api.ts'

export function readUint32 (bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0
}

export function writeUint32 (bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24
  bytes[offset + 1] = value >>> 16
  bytes[offset + 2] = value >>> 8
  bytes[offset + 3] = value
}

/** Splits `[metadataSize][MessageMetadata][payload]` (a SEND's checksummed section, or a stored body). */
export function splitMetadataAndPayload (metadataAndPayload: Uint8Array): { metadata: MessageMetadata, payload: Uint8Array } {
  if (metadataAndPayload.length < 4) throw new TruncatedFrameError('no metadata size')
  const metadataSize = readUint32(metadataAndPayload, 0)
  if (metadataSize > metadataAndPayload.length - 4) {
    throw new BadFrameSizeError(`metadataSize ${metadataSize} exceeds the ${metadataAndPayload.length - 4} bytes left`)
  }
  const metadata = decodeMessage<MessageMetadata>('MessageMetadata', metadataAndPayload.subarray(4, 4 + metadataSize))
  return { metadata, payload: metadataAndPayload.subarray(4 + metadataSize) }
}

/** `[metadataSize][MessageMetadata][payload]`: the section a payload command checksums. */
export function encodeMetadataAndPayload (metadata: MessageMetadataInit, payload: Uint8Array): Uint8Array {
  const metadataBytes = encodeMessage('MessageMetadata', metadata)
  const out = new Uint8Array(4 + metadataBytes.length + payload.length)
  writeUint32(out, 0, metadataBytes.length)
  out.set(metadataBytes, 4)
  out.set(payload, 4 + metadataBytes.length)
  return out
}

