// The wire layer's named limits and Pulsar's defaults for them.

const MiB = 1024 * 1024

/** Pulsar's default `maxMessageSize` (5 MiB): the largest SEND payload a broker accepts. */
export const DEFAULT_MAX_MESSAGE_SIZE = 5 * MiB
/** Pulsar's MESSAGE_SIZE_FRAME_PADDING: room for the command and metadata around the largest message. */
export const FRAME_PADDING = 10 * 1024
/** The largest whole frame (4-byte totalSize included) a FrameDecoder accepts by default. */
export const DEFAULT_MAX_FRAME_SIZE = DEFAULT_MAX_MESSAGE_SIZE + FRAME_PADDING
/** The protocol version this layer speaks (v20: topic migration); CONNECTED answers min(client's, this). */
export const MAX_PROTOCOL_VERSION = 20
