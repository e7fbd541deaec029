// The node's Pulsar binary-protocol endpoint (`pulsar://host:6650` by default): a TCP server
// whose every socket is a PulsarConnection served by the node's gateway, so a Pulsar client
// produces and consumes through any node as @blazar/client does. Owns the sockets (closed on
// stop) and the listener's counters.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { Clock, Logger } from '@blazar/env'
import type { ClientReply, ClientRequestBody } from '@blazar/protocol'
import type { GatewaySession } from '../session-state.ts'
import { PulsarConnection, type PulsarLink } from './pulsar-connection.ts'
import { PulsarCounters } from './pulsar-counters.ts'
import { DEFAULT_PULSAR_SETTINGS, type PulsarSettings } from './pulsar-settings.ts'

/** What CONNECTED names as the server. */
export const PULSAR_SERVER_VERSION = 'Blazar 0.1.0'

export interface PulsarListenerOptions {
  host: string
  port: number
  serve: (session: GatewaySession, body: ClientRequestBody) => Promise<ClientReply>
  clock: Clock
  logger: Logger
  settings?: Partial<PulsarSettings>
}

export class PulsarListener {
  readonly counters = new PulsarCounters()
  private readonly options: PulsarListenerOptions
  private readonly settings: PulsarSettings
  private readonly server: Server
  private readonly sockets = new Set<Socket>()

  private constructor (options: PulsarListenerOptions) {
    this.options = options
    this.settings = { ...DEFAULT_PULSAR_SETTINGS, ...options.settings }
    this.server = createServer({ noDelay: true }, (socket) => { this.accept(socket) })
  }

  static async start (options: PulsarListenerOptions): Promise<PulsarListener> {
    const listener = new PulsarListener(options)
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject)
      listener.server.listen(options.port, options.host, () => {
        listener.server.off('error', reject)
        resolve()
      })
    })
    listener.server.on('error', (error) => { options.logger.error('pulsar listener failed', { error: String(error) }) })
    return listener
  }

  /** The bound port (the configured one, or the one the OS picked for port 0). */
  get port (): number {
    return (this.server.address() as AddressInfo).port
  }

  async stop (): Promise<void> {
    const closing = new Promise<void>((resolve) => { this.server.close(() => { resolve() }) })
    for (const socket of this.sockets) socket.destroy()
    await closing
  }

  private accept (socket: Socket): void {
    this.sockets.add(socket)
    const remote = `${socket.remoteAddress}:${socket.remotePort}`
    // The URL a lookup answers: the address this client reached us on, so it is reachable by it.
    const local = socket.localAddress ?? this.options.host
    const serviceUrl = `pulsar://${local.includes(':') ? `[${local}]` : local}:${socket.localPort ?? this.port}`
    const link: PulsarLink = {
      remote,
      write: (bytes) => { socket.write(bytes) },
      get bufferedBytes () { return socket.writableLength },
      drained: async () => {
        if (!socket.writableNeedDrain || socket.destroyed) return
        await new Promise<void>((resolve) => {
          const done = (): void => { socket.off('drain', done); socket.off('close', done); resolve() }
          socket.on('drain', done)
          socket.on('close', done)
        })
      },
      pauseReading: () => { socket.pause() },
      resumeReading: () => { socket.resume() },
      close: () => { socket.end(() => { socket.destroy() }) }
    }
    const connection = new PulsarConnection({
      link,
      serve: this.options.serve,
      serviceUrl,
      serverVersion: PULSAR_SERVER_VERSION,
      settings: this.settings,
      counters: this.counters,
      clock: this.options.clock,
      logger: this.options.logger
    })
    socket.on('data', (chunk: Buffer) => { connection.receive(chunk) })
    socket.on('end', () => { connection.ended() })
    socket.on('error', (error) => { this.options.logger.debug('pulsar socket error', { remote, error: String(error) }) })
    socket.on('close', () => {
      this.sockets.delete(socket)
      connection.closed()
    })
  }
}
