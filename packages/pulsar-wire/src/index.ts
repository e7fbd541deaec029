// @blazar/pulsar-wire: Pulsar's binary protocol on the wire. The PulsarApi.proto schema (proto2,
// via protobufjs) with generated TypeScript types, the frame codec (streaming decoder, simple and
// payload command encoders, CRC32C), typed errors for every kind of bad input, and builders for
// the replies a broker sends. No sockets: the listener that uses it lives in @blazar/node.
export * from './pulsar-api.ts'
export {
  COMMAND_TYPES, bodyOf, command, commandField, decodeBaseCommand, encodeBaseCommand,
  type Command, type CommandBody, type CommandBodyInit, type CommandField, type CommandInit, type CommandInitOf,
  type CommandOf, type CommandType
} from './command.ts'
export {
  BROKER_ENTRY_METADATA_MAGIC, FrameDecoder, PAYLOAD_MAGIC, decodeFrame, encodeCommand, encodePayloadCommand, encodePayloadFrame,
  type Frame, type FrameDecoderOptions, type FramePayload
} from './frame.ts'
export { encodeMetadataAndPayload, splitMetadataAndPayload } from './metadata.ts'
export { crc32c } from './crc32c.ts'
export { DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE, FRAME_PADDING, MAX_PROTOCOL_VERSION } from './limits.ts'
export { MAX_MESSAGE_NESTING, decodeMessage, encodeMessage } from './proto.ts'
export { PRESENCE_FIELDS } from './schema-rules.ts'
export * from './errors.ts'
export * as replies from './replies.ts'
export { negotiateProtocolVersion } from './replies.ts'
