// @blazar/pulsar-wire/messages: the schema's messages without the frame codec (no CRC32C, so
// no native module): typed encode/decode of any PulsarApi.proto message and the
// `[metadataSize][MessageMetadata][payload]` section. What @blazar/protocol uses for batch bodies.
export * from './pulsar-api.ts'
export { encodeMetadataAndPayload, splitMetadataAndPayload } from './metadata.ts'
export { MAX_MESSAGE_NESTING, decodeMessage, encodeMessage } from './proto.ts'
export { DEFAULT_MAX_MESSAGE_SIZE } from './limits.ts'
export * from './errors.ts'
