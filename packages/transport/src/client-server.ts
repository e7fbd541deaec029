// Server side of /blazar/client/1: one ClientSession per client stream. Requests carry ids and
// are answered in any order; at most serverMaxConcurrentRequests run at once per stream, and
// the stream stops reading while that many run or while replies wait for the socket
// (backpressure instead of buffering), and reads again at the next `drain` event: the resume
// is tied to that event, never to one check after one wait (a check that finds the buffer full
// again, with nothing left running to check later, would stop the session reading for good). Server pushes spend permits the client granted; push()
// waits for a permit, and rejects with a typed error when too many pushes wait. The payloads
// are opaque here: the broker defines them.
import type { Stream } from '@libp2p/interface'
import {
  CLIENT_PERMITS, decodeClientFrame, packBody, SERVER_ERROR, SERVER_PUSH, SERVER_RESPONSE
} from './body-codec.ts'
import type { TransportCounters } from './counters.ts'
import { whenDrained } from './drain.ts'
import { FrameTooLargeError, ProtocolViolationError, PushQueueFullError, StreamClosedError } from './errors.ts'
import { FrameWriter, readFrames } from './framed-stream.ts'
import type { FrameReader } from './framed-stream.ts'
import type { TransportSettings } from './settings.ts'

export interface ClientRequest {
  /** The request body as the client sent it (any msgpack value). */
  body: unknown
  /** The session the request came on: push to it, watch it close. */
  session: ClientSession
}

/** Returns the response body; a throw becomes an error response carrying the error's `code`. */
export type ClientRequestHandler = (request: ClientRequest) => unknown

interface PushWaiter {
  resolve: () => void
  reject: (error: Error) => void
}

export class ClientSession {
  /** PeerId of the client (authenticated by Noise). */
  readonly peer: string
  private readonly stream: Stream
  private readonly writer: FrameWriter
  private readonly reader: FrameReader
  private readonly settings: TransportSettings
  private readonly counters: TransportCounters
  private readonly handler: () => ClientRequestHandler | undefined
  private running = 0
  private grantedPermits = 0
  private readonly pushWaiters: PushWaiter[] = []
  private readonly closeListeners: Array<(error?: Error) => void> = []
  private closedWith: Error | undefined

  constructor (options: { peer: string, stream: Stream, settings: TransportSettings, counters: TransportCounters, handler: () => ClientRequestHandler | undefined }) {
    this.peer = options.peer
    this.stream = options.stream
    this.settings = options.settings
    this.counters = options.counters
    this.handler = options.handler
    this.writer = new FrameWriter(this.stream, this.settings.maxFrameBytes)
    this.reader = readFrames(this.stream, this.settings.maxFrameBytes, {
      onFrame: (body) => { this.onFrame(body) },
      onError: (error) => { this.counters.addStreamError(error) },
      onEnd: () => { this.stream.close().catch(() => {}) }
    })
    this.stream.addEventListener('close', (event) => { this.closed(event.error ?? new StreamClosedError()) })
    this.stream.addEventListener('drain', () => { this.maybeResume() })
  }

  /** Push permits the client has granted and that are not spent yet. */
  get permits (): number {
    return this.grantedPermits
  }

  get open (): boolean {
    return this.closedWith === undefined
  }

  /**
   * Sends `body` to the client once a permit is available. Rejects with PushQueueFullError when
   * clientMaxPendingPushes pushes already wait, FrameTooLargeError when it cannot be framed,
   * StreamClosedError when the session ends first, or the signal's reason.
   */
  async push (body: unknown, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.closedWith !== undefined) throw new StreamClosedError('client session closed', { cause: this.closedWith })
    const frame = packBody({ t: SERVER_PUSH, body })
    if (frame.byteLength > this.settings.maxFrameBytes) throw new FrameTooLargeError(frame.byteLength, this.settings.maxFrameBytes)
    if (this.grantedPermits > 0 && this.pushWaiters.length === 0) {
      this.grantedPermits--
    } else {
      if (this.pushWaiters.length >= this.settings.clientMaxPendingPushes) throw new PushQueueFullError(this.settings.clientMaxPendingPushes)
      options.signal?.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const waiter = { resolve, reject }
        this.pushWaiters.push(waiter)
        options.signal?.addEventListener('abort', () => {
          const at = this.pushWaiters.indexOf(waiter)
          if (at >= 0) this.pushWaiters.splice(at, 1)
          reject(options.signal?.reason)
        }, { once: true })
      })
    }
    // A waiter is resolved only after its permit was reserved for it (see grant()).
    this.writer.write(frame)
    this.counters.add('clientPushesSent')
    await whenDrained(this.stream, options.signal)
  }

  onClose (listener: (error?: Error) => void): void {
    if (this.closedWith !== undefined) listener(this.closedWith)
    else this.closeListeners.push(listener)
  }

  close (): void {
    this.stream.close().catch(() => {})
  }

  private onFrame (body: Uint8Array): void {
    const frame = decodeClientFrame(body)
    if (frame.t === CLIENT_PERMITS) {
      if (this.grantedPermits + frame.n > this.settings.clientMaxPermits) throw new ProtocolViolationError('too many permits granted')
      this.grant(frame.n)
      return
    }
    this.running++
    if (this.running >= this.settings.serverMaxConcurrentRequests) this.reader.pause()
    this.serve(frame.id, frame.body).finally(() => {
      this.running--
      this.maybeResume()
    })
  }

  private grant (n: number): void {
    this.grantedPermits += n
    while (this.grantedPermits > 0 && this.pushWaiters.length > 0) {
      this.grantedPermits--
      this.pushWaiters.shift()?.resolve()
    }
  }

  private async serve (id: number, body: unknown): Promise<void> {
    const handler = this.handler()
    let reply: Uint8Array
    try {
      if (handler === undefined) throw Object.assign(new Error('no client request handler installed'), { code: 'NO_HANDLER' })
      reply = packBody({ t: SERVER_RESPONSE, id, body: await handler({ body, session: this }) })
      if (reply.byteLength > this.settings.maxFrameBytes) throw new FrameTooLargeError(reply.byteLength, this.settings.maxFrameBytes)
      this.counters.add('clientRequestsServed')
    } catch (error) {
      this.counters.add('clientRequestsFailed')
      const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'HANDLER_ERROR'
      reply = packBody({ t: SERVER_ERROR, id, code, message: String((error as Error).message ?? error) })
    }
    if (this.closedWith !== undefined) return
    this.writer.write(reply)
    // Read no more requests until the replies are out; the drain listener resumes reading.
    if (this.writer.needsDrain) this.reader.pause()
  }

  private maybeResume (): void {
    if (this.closedWith === undefined && this.running < this.settings.serverMaxConcurrentRequests && !this.writer.needsDrain) {
      this.reader.resume()
    }
  }

  private closed (error: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error
    for (const waiter of this.pushWaiters.splice(0)) waiter.reject(new StreamClosedError('client session closed', { cause: error }))
    for (const listener of this.closeListeners.splice(0)) {
      try { listener(error) } catch { /* a host's close listener must not break the others */ }
    }
  }
}
