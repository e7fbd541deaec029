// Client side of /blazar/client/1: pipelined requests matched by id on one stream, server
// pushes delivered to onPush listeners, and push permits granted with grantPermits(). Nothing
// is dropped silently: request() rejects with a typed error when too many requests are in
// flight, when the body cannot be framed or when the stream closes, and waits for the socket
// to drain (backpressure) before resolving its send.
import type { Stream } from '@libp2p/interface'
import { CLIENT_PERMITS, CLIENT_REQUEST, decodeServerFrame, packBody, SERVER_PUSH, SERVER_RESPONSE } from './body-codec.ts'
import type { TransportCounters } from './counters.ts'
import { whenDrained } from './drain.ts'
import {
  FrameTooLargeError, PermitLimitError, ProtocolViolationError, RemoteRequestError, StreamClosedError, TooManyInflightRequestsError
} from './errors.ts'
import { FrameWriter, readFrames } from './framed-stream.ts'
import type { TransportSettings } from './settings.ts'

interface PendingRequest {
  resolve: (body: unknown) => void
  reject: (error: Error) => void
}

export class ClientConnection {
  /** PeerId of the server. */
  readonly peer: string
  private readonly stream: Stream
  private readonly writer: FrameWriter
  private readonly settings: TransportSettings
  private readonly pending = new Map<number, PendingRequest>()
  private readonly pushListeners: Array<(body: unknown) => void> = []
  private readonly closeListeners: Array<(error: Error) => void> = []
  private nextId = 0
  private outstandingPermits = 0
  private closedWith: Error | undefined

  constructor (options: { peer: string, stream: Stream, settings: TransportSettings, counters: TransportCounters }) {
    this.peer = options.peer
    this.stream = options.stream
    this.settings = options.settings
    this.writer = new FrameWriter(this.stream, this.settings.maxFrameBytes)
    readFrames(this.stream, this.settings.maxFrameBytes, {
      onFrame: (body) => { this.onFrame(body) },
      onError: (error) => { options.counters.addStreamError(error) }
    })
    this.stream.addEventListener('close', (event) => { this.closed(event.error ?? new StreamClosedError()) })
    if (this.stream.status !== 'open') this.closed(new StreamClosedError(`stream ${this.stream.status}`))
  }

  /** Requests waiting for a response. */
  get inflight (): number {
    return this.pending.size
  }

  /** Permits granted to the server and not yet spent by a push. */
  get permits (): number {
    return this.outstandingPermits
  }

  get open (): boolean {
    return this.closedWith === undefined
  }

  /** Sends `body` and resolves with the server's response body. */
  async request (body: unknown, options: { signal?: AbortSignal } = {}): Promise<unknown> {
    if (this.closedWith !== undefined) throw new StreamClosedError('client connection closed', { cause: this.closedWith })
    options.signal?.throwIfAborted()
    if (this.pending.size >= this.settings.clientMaxInflightRequests) throw new TooManyInflightRequestsError(this.settings.clientMaxInflightRequests)
    const id = this.nextId++
    const frame = packBody({ t: CLIENT_REQUEST, id, body })
    if (frame.byteLength > this.settings.maxFrameBytes) throw new FrameTooLargeError(frame.byteLength, this.settings.maxFrameBytes)
    const response = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      options.signal?.addEventListener('abort', () => {
        if (this.pending.delete(id)) reject(options.signal?.reason)
      }, { once: true })
    })
    this.writer.write(frame)
    if (this.writer.needsDrain) {
      try {
        await whenDrained(this.stream, options.signal)
      } catch (error) {
        this.pending.delete(id)
        throw error
      }
    }
    return await response
  }

  onPush (listener: (body: unknown) => void): void {
    this.pushListeners.push(listener)
  }

  /** Called once when the connection closes (at once if it already has). */
  onClose (listener: (error: Error) => void): void {
    if (this.closedWith !== undefined) listener(this.closedWith)
    else this.closeListeners.push(listener)
  }

  /** Lets the server push `n` more messages. Throws PermitLimitError beyond clientMaxPermits outstanding. */
  grantPermits (n: number): void {
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`permits must be a positive integer, got ${n}`)
    if (this.closedWith !== undefined) throw new StreamClosedError('client connection closed', { cause: this.closedWith })
    if (this.outstandingPermits + n > this.settings.clientMaxPermits) throw new PermitLimitError(this.settings.clientMaxPermits)
    this.outstandingPermits += n
    this.writer.write(packBody({ t: CLIENT_PERMITS, n }))
  }

  async close (): Promise<void> {
    await this.stream.close().catch(() => {})
  }

  /** Resets the stream at once (a peer that stopped answering): pending requests reject, close listeners run. */
  abort (reason: Error): void {
    this.stream.abort(reason)
    this.closed(reason)
  }

  private onFrame (body: Uint8Array): void {
    const frame = decodeServerFrame(body)
    if (frame.t === SERVER_PUSH) {
      if (this.outstandingPermits === 0) throw new ProtocolViolationError('push without a permit')
      this.outstandingPermits--
      for (const listener of this.pushListeners) listener(frame.body)
      return
    }
    const request = this.pending.get(frame.id)
    if (request === undefined) return // answered after the caller gave up on it
    this.pending.delete(frame.id)
    if (frame.t === SERVER_RESPONSE) request.resolve(frame.body)
    else request.reject(new RemoteRequestError(frame.code, frame.message))
  }

  private closed (error: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error
    for (const request of this.pending.values()) request.reject(new StreamClosedError('client connection closed', { cause: error }))
    this.pending.clear()
    for (const listener of this.closeListeners.splice(0)) {
      try { listener(error) } catch { /* one listener's failure must not hide the close from the others */ }
    }
  }
}
