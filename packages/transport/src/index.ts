// @blazar/transport: the libp2p node, its identity, the peer allowlist, multi-raft batching
// over /blazar/raft/1, the client protocol and the join protocol. See README.md.
export * from './errors.ts'
export { defaultTransportSettings, resolveSettings } from './settings.ts'
export type { TransportSettings } from './settings.ts'
export { decodeFrames, encodeFrame, FrameDecoder } from './frame-codec.ts'
export { loadOrCreateIdentity } from './identity.ts'
export type { NodeIdentity } from './identity.ts'
