// Every limit and timing of the transport, with its default and why. A host passes a
// Partial<TransportSettings>; resolveSettings fills in the defaults and rejects nonsense.
import { InvalidSettingError } from './errors.ts'

export interface TransportSettings {
  /** Largest frame body accepted or sent on any protocol, in bytes. Bigger incoming frames close the stream. */
  maxFrameBytes: number
  /** Raft messages queued for one peer (not yet written). Beyond it new messages are dropped and counted. */
  raftQueueMaxMessages: number
  /** Encoded bytes queued for one peer. Beyond it new messages are dropped and counted. */
  raftQueueMaxBytes: number
  /** Raft messages packed into one frame at most (a flush writes several frames if needed). */
  raftMaxMessagesPerFrame: number
  /** Node-level heartbeat to every member peer: one empty raft frame when nothing else was sent for this long. */
  nodeHeartbeatIntervalMs: number
  /** A peer is considered live while a frame from it arrived within this many ms. */
  peerLivenessTimeoutMs: number
  /** First reconnect delay after a raft stream fails or closes. */
  reconnectBaseDelayMs: number
  /** Cap on the reconnect delay (the exponential growth stops here). */
  reconnectMaxDelayMs: number
  /** Abort a dial (raft, client or join) that takes longer than this. */
  dialTimeoutMs: number
  /** Requests a client connection may have waiting for responses; beyond it request() rejects. */
  clientMaxInflightRequests: number
  /** Requests the server runs concurrently per client stream; beyond it the stream stops reading (backpressure). */
  serverMaxConcurrentRequests: number
  /** Pushes a server session may have waiting for permits; beyond it push() rejects. */
  clientMaxPendingPushes: number
  /** Permits a client may have outstanding with the server at once. */
  clientMaxPermits: number
  /** Client streams a peer may open per connection. */
  maxClientStreamsPerConnection: number
  /** Largest join request or answer body, in bytes (joins are small; this keeps strangers cheap). */
  maxJoinFrameBytes: number
  /** A join exchange (request and answer) must complete within this many ms. */
  joinTimeoutMs: number
}

const MiB = 1024 * 1024

export const defaultTransportSettings: Readonly<TransportSettings> = Object.freeze({
  maxFrameBytes: 8 * MiB,
  raftQueueMaxMessages: 8192,
  raftQueueMaxBytes: 64 * MiB,
  raftMaxMessagesPerFrame: 4096,
  nodeHeartbeatIntervalMs: 250,
  peerLivenessTimeoutMs: 1500,
  reconnectBaseDelayMs: 50,
  reconnectMaxDelayMs: 5000,
  dialTimeoutMs: 5000,
  clientMaxInflightRequests: 1024,
  serverMaxConcurrentRequests: 256,
  clientMaxPendingPushes: 1024,
  clientMaxPermits: 1_000_000,
  maxClientStreamsPerConnection: 64,
  maxJoinFrameBytes: 64 * 1024,
  joinTimeoutMs: 10_000
})

/** Frames announce their length in an unsigned varint of at most this many bytes (35 bits, > 2^32). */
export const MAX_VARINT_BYTES = 5
/** Hard ceiling for maxFrameBytes: lengths must fit a 32-bit varint comfortably and Buffer limits. */
export const MAX_FRAME_BYTES_CEILING = 1024 * MiB

export function resolveSettings (overrides: Partial<TransportSettings> = {}): TransportSettings {
  const settings: TransportSettings = { ...defaultTransportSettings }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue
    if (!(key in defaultTransportSettings)) throw new InvalidSettingError(`unknown transport setting ${key}`)
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new InvalidSettingError(`${key} must be a positive integer, got ${String(value)}`)
    }
    settings[key as keyof TransportSettings] = value
  }
  if (settings.maxFrameBytes > MAX_FRAME_BYTES_CEILING) {
    throw new InvalidSettingError(`maxFrameBytes must be <= ${MAX_FRAME_BYTES_CEILING}`)
  }
  if (settings.reconnectMaxDelayMs < settings.reconnectBaseDelayMs) {
    throw new InvalidSettingError('reconnectMaxDelayMs must be >= reconnectBaseDelayMs')
  }
  if (settings.peerLivenessTimeoutMs <= settings.nodeHeartbeatIntervalMs) {
    throw new InvalidSettingError('peerLivenessTimeoutMs must exceed nodeHeartbeatIntervalMs')
  }
  return settings
}
