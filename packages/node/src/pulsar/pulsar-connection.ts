// One client connection on the Pulsar port: the byte stream's framing (FrameDecoder, with the
// checksum and size checks), the CONNECT handshake (protocol version: the lower of the
// client's and ours; max_message_size advertised), keep-alive (PING after a silent interval,
// close after a second one) and the rule for bad input: any frame that cannot be trusted
// (garbage, truncation, a wrong checksum, an oversized frame, an unknown command, a command
// before CONNECT, a server-only command) closes this connection, with a log line naming the
// cause and a counter, and nothing else. Commands after CONNECT go to its PulsarSession.
import type { Clock, Logger, TimerHandle } from '@blazar/env'
import type { ClientReply, ClientRequestBody } from '@blazar/protocol'
import {
  FrameDecoder, PulsarWireError, encodeCommand, encodePayloadFrame, negotiateProtocolVersion, replies,
  type CommandInit, type Frame
} from '@blazar/pulsar-wire'
import type { GatewaySession } from '../session-state.ts'
import type { PulsarCounters } from './pulsar-counters.ts'
import { PulsarSession } from './pulsar-session.ts'
import type { PulsarSettings } from './pulsar-settings.ts'

/** The byte pipe under a connection (a TCP socket in the node, an in-memory pair in tests). */
export interface PulsarLink {
  /** Who is on the other end, for logs (host:port). */
  readonly remote: string
  /** Queues bytes for the peer. */
  write: (bytes: Uint8Array) => void
  /** Bytes queued and not yet taken by the peer. */
  readonly bufferedBytes: number
  /** Resolves when the queued bytes drop below the socket's limit (at once if they are below). */
  drained: () => Promise<void>
  pauseReading: () => void
  resumeReading: () => void
  /** Ends the connection (after what was queued). */
  close: () => void
}

export interface PulsarConnectionOptions {
  link: PulsarLink
  serve: (session: GatewaySession, body: ClientRequestBody) => Promise<ClientReply>
  serviceUrl: string
  serverVersion: string
  settings: PulsarSettings
  counters: PulsarCounters
  clock: Clock
  logger: Logger
}

/** A peer broke the protocol; the connection closes. */
export class PulsarProtocolError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'PulsarProtocolError'
    this.code = code
  }
}

export class PulsarConnection {
  private readonly options: PulsarConnectionOptions
  private readonly decoder: FrameDecoder
  private readonly session: PulsarSession
  private connected = false
  private closing = false
  private inFlight = 0
  private heardSinceTick = false
  private pingOutstanding = false
  private keepAliveTimer: TimerHandle | null = null
  private connectTimer: TimerHandle | null = null

  constructor (options: PulsarConnectionOptions) {
    this.options = options
    this.decoder = new FrameDecoder({ maxFrameSize: options.settings.maxFrameSize })
    this.session = new PulsarSession({
      serve: options.serve,
      write: (command, body) => { this.write(command, body) },
      drained: async () => { await this.drained() },
      serviceUrl: options.serviceUrl,
      peer: `pulsar:${options.link.remote}`,
      settings: options.settings,
      counters: options.counters,
      logger: options.logger
    })
    options.counters.connectionsOpened++
    this.connectTimer = options.clock.setTimer(options.settings.connectTimeoutMs, () => {
      this.connectTimer = null
      if (!this.connected) this.reject(new PulsarProtocolError('CONNECT_TIMEOUT', `no CONNECT within ${options.settings.connectTimeoutMs} ms`))
    })
  }

  /** Bytes from the peer. */
  receive (chunk: Uint8Array): void {
    if (this.closing) return
    let frames: Frame[]
    try {
      frames = this.decoder.push(chunk)
    } catch (error) {
      this.reject(error)
      return
    }
    this.heardSinceTick = true
    this.pingOutstanding = false
    for (const frame of frames) {
      if (this.closing) return
      this.dispatch(frame)
    }
  }

  /** The peer ended its side. */
  ended (): void {
    if (this.closing) return
    try {
      this.decoder.finish()
    } catch (error) {
      this.reject(error)
      return
    }
    this.close('the client closed the connection')
  }

  /** The link is gone (either side closed it, or it failed). */
  closed (error?: Error): void {
    this.closing = true
    this.stopTimers()
    if (this.session.open) {
      this.options.counters.connectionsClosed++
      this.session.closed(error ?? new Error('connection closed'))
    }
  }

  private dispatch (frame: Frame): void {
    const command = frame.command
    this.options.counters.command(command.type)
    if (!this.connected) {
      if (command.type !== 'CONNECT') {
        this.reject(new PulsarProtocolError('COMMAND_BEFORE_CONNECT', `${command.type} before CONNECT`))
        return
      }
      this.handshake(command.connect.protocol_version, command.connect.client_version)
      return
    }
    if (command.type === 'CONNECT') {
      this.reject(new PulsarProtocolError('SECOND_CONNECT', 'CONNECT on a connection that is connected already'))
      return
    }
    this.inFlight++
    if (this.inFlight >= this.options.settings.maxInFlightCommands) this.options.link.pauseReading()
    this.session.handle(command, frame.payload).then((handled) => {
      if (handled === 'server-only') this.reject(new PulsarProtocolError('SERVER_ONLY_COMMAND', `${command.type} is sent by brokers, not clients`))
    }, (error: unknown) => {
      // A handler bug must not leave the client waiting: the connection closes, the node goes on.
      this.options.logger.error('pulsar command failed', { type: command.type, error: String(error), stack: (error as Error).stack })
      this.reject(new PulsarProtocolError('HANDLER_FAILED', `${command.type} failed: ${String(error)}`))
    }).finally(() => {
      this.inFlight--
      if (!this.closing && this.inFlight < this.options.settings.maxInFlightCommands) this.options.link.resumeReading()
    })
  }

  private handshake (clientVersion: number, clientName: string): void {
    this.connected = true
    if (this.connectTimer !== null) this.options.clock.clearTimer(this.connectTimer)
    this.connectTimer = null
    const protocolVersion = negotiateProtocolVersion(clientVersion)
    this.write(replies.connected({ serverVersion: this.options.serverVersion, protocolVersion, maxMessageSize: this.options.settings.maxMessageSize }))
    this.options.logger.debug('pulsar client connected', { remote: this.options.link.remote, client: clientName, protocolVersion })
    this.scheduleKeepAlive()
  }

  private scheduleKeepAlive (): void {
    this.keepAliveTimer = this.options.clock.setTimer(this.options.settings.keepAliveIntervalMs, () => {
      this.keepAliveTimer = null
      if (this.closing) return
      if (!this.heardSinceTick) {
        if (this.pingOutstanding) {
          this.options.counters.keepAliveTimeouts++
          this.options.logger.warn('pulsar connection closed: no answer to PING', { remote: this.options.link.remote })
          this.close('keep-alive timeout')
          return
        }
        this.pingOutstanding = true
        this.write(replies.ping())
      }
      this.heardSinceTick = false
      this.scheduleKeepAlive()
    })
  }

  private write (command: CommandInit, metadataAndPayload?: Uint8Array): void {
    if (this.closing) return
    this.options.link.write(metadataAndPayload === undefined ? encodeCommand(command) : encodePayloadFrame(command, metadataAndPayload))
  }

  private async drained (): Promise<void> {
    if (this.options.link.bufferedBytes < this.options.settings.maxBufferedWriteBytes) return
    await this.options.link.drained()
  }

  /** Bad input: log the cause, count it, close only this connection. */
  private reject (error: unknown): void {
    if (this.closing) return
    const code = error instanceof PulsarWireError || error instanceof PulsarProtocolError ? error.code : 'UNEXPECTED'
    this.options.counters.rejected(code)
    this.options.logger.warn('pulsar connection closed: bad input', { remote: this.options.link.remote, code, reason: (error as Error).message })
    this.close(code)
  }

  private close (reason: string): void {
    if (this.closing) return
    this.closing = true
    this.stopTimers()
    this.options.logger.debug('closing pulsar connection', { remote: this.options.link.remote, reason })
    this.options.link.close()
  }

  private stopTimers (): void {
    if (this.keepAliveTimer !== null) this.options.clock.clearTimer(this.keepAliveTimer)
    if (this.connectTimer !== null) this.options.clock.clearTimer(this.connectTimer)
    this.keepAliveTimer = null
    this.connectTimer = null
  }
}
