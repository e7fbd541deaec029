// The Pulsar listener's named limits and timings, with Pulsar's defaults where Pulsar has one.
import { DEFAULT_MAX_MESSAGE_SIZE, FRAME_PADDING } from '@blazar/pulsar-wire'

export interface PulsarSettings {
  /** Advertised in CONNECTED as max_message_size (Pulsar `maxMessageSize`, 5 MiB). */
  maxMessageSize: number
  /** The largest frame accepted: maxMessageSize plus Pulsar's 10 KiB padding for command and metadata. */
  maxFrameSize: number
  /**
   * Pulsar `keepAliveIntervalSeconds` (30 s): a connection silent for one interval gets a PING;
   * one still silent after the next is closed as dead.
   */
  keepAliveIntervalMs: number
  /** How long a connection may stay open without completing CONNECT. */
  connectTimeoutMs: number
  /** Commands of one connection being served at once; reading pauses at this many. */
  maxInFlightCommands: number
  /** Producers plus consumers one connection may open (the gateway's per-session bound applies too). */
  maxHandlesPerConnection: number
  /** Bytes written to a connection and not yet taken by the socket before pushes wait for it to drain. */
  maxBufferedWriteBytes: number
}

export const DEFAULT_PULSAR_SETTINGS: PulsarSettings = {
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  maxFrameSize: DEFAULT_MAX_MESSAGE_SIZE + FRAME_PADDING,
  keepAliveIntervalMs: 30_000,
  connectTimeoutMs: 10_000,
  maxInFlightCommands: 1_000,
  maxHandlesPerConnection: 10_000,
  maxBufferedWriteBytes: 8 * 1024 * 1024
}
