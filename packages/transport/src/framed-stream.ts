// Frames over one libp2p stream: a writer that coalesces every frame written in the same tick
// into one stream.send(), and a reader that decodes frames inside the 'message' listener.
// A listener that throws would become a process uncaughtException (stack.md §1.5), so every
// listener body here is wrapped: a bad frame aborts this stream with a typed error, is
// reported through onError (for counting), and the node carries on.
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { encodeVarint, FrameDecoder } from './frame-codec.ts'
import { FrameTooLargeError, MalformedFrameError, StreamClosedError } from './errors.ts'

/** Frames smaller than this in total are copied into one buffer before sending; bigger ones are sent as they are. */
const COALESCE_COPY_BYTES = 64 * 1024

export class FrameWriter {
  private readonly stream: Stream
  private readonly maxFrameBytes: number
  private chunks: Uint8Array[] = []
  private bytes = 0
  private scheduled = false

  constructor (stream: Stream, maxFrameBytes: number) {
    this.stream = stream
    this.maxFrameBytes = maxFrameBytes
  }

  /** Queues one frame; it goes out with every other frame written in this tick. */
  write (body: Uint8Array): void {
    if (body.byteLength > this.maxFrameBytes) throw new FrameTooLargeError(body.byteLength, this.maxFrameBytes)
    if (body.byteLength === 0) throw new MalformedFrameError('empty frame')
    const prefix = encodeVarint(body.byteLength)
    this.chunks.push(prefix, body)
    this.bytes += prefix.byteLength + body.byteLength
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(() => { this.flush() })
    }
  }

  /** Sends what is queued now. Frames written after the stream stopped being writable are discarded. */
  flush (): void {
    this.scheduled = false
    const chunks = this.chunks
    const bytes = this.bytes
    this.chunks = []
    this.bytes = 0
    if (chunks.length === 0 || this.stream.writeStatus !== 'writable') return
    if (bytes <= COALESCE_COPY_BYTES) {
      const out = new Uint8Array(bytes)
      let offset = 0
      for (const c of chunks) { out.set(c, offset); offset += c.byteLength }
      this.stream.send(out)
    } else {
      for (const c of chunks) this.stream.send(c)
    }
  }

  /** Whether the stream's send buffer is full (callers should wait for drain). */
  get needsDrain (): boolean {
    return this.stream.writableNeedsDrain
  }
}

export interface FrameReaderHandlers {
  /** One decoded frame body. A throw aborts the stream like a malformed frame would. */
  onFrame (body: Uint8Array): void
  /** The stream was aborted because of `error` (a bad frame or a throwing onFrame). */
  onError (error: Error): void
  /** The remote closed its write side and every frame it sent was read. */
  onEnd?: () => void
}

/** Read-side flow control: while paused no frame is delivered and the stream stops reading. */
export interface FrameReader {
  pause (): void
  resume (): void
}

/**
 * Reads frames from `stream`; attach it synchronously in the protocol handler, before any await.
 * Frames decoded from a chunk that arrived before pause() wait in a queue (at most one chunk's
 * worth: a paused stream delivers no further chunks, and Yamux then stops the sender).
 */
export function readFrames (stream: Stream, maxFrameBytes: number, handlers: FrameReaderHandlers): FrameReader {
  const decoder = new FrameDecoder(maxFrameBytes)
  const ready: Uint8Array[] = []
  let failed = false
  let paused = false
  let ended = false
  const fail = (error: unknown): void => {
    if (failed) return
    failed = true
    ready.length = 0
    const err = error instanceof Error ? error : new MalformedFrameError(String(error))
    stream.abort(err)
    try { handlers.onError(err) } catch { /* reporting must never throw out of a listener */ }
  }
  const deliver = (): void => {
    try {
      while (!paused && !failed && ready.length > 0) handlers.onFrame(ready.shift() as Uint8Array)
      if (ended && !paused && !failed && ready.length === 0) {
        ended = false
        handlers.onEnd?.()
      }
    } catch (error) {
      fail(error)
    }
  }
  stream.addEventListener('message', (event) => {
    if (failed) return
    try {
      for (const body of decoder.push(event.data as Uint8Array | Uint8ArrayList)) ready.push(body)
    } catch (error) {
      // Frames queued from earlier chunks go out first (unless paused); then the stream is aborted.
      deliver()
      fail(error)
      return
    }
    deliver()
  })
  // 'end' fires once buffered data was delivered, so a partial frame left here is truncation.
  stream.addEventListener('end', () => {
    if (failed || stream.status === 'reset' || stream.status === 'aborted') return
    try {
      decoder.end()
    } catch (error) {
      fail(error)
      return
    }
    ended = true
    deliver()
  })
  return {
    pause () {
      paused = true
      stream.pause()
    },
    resume () {
      if (!paused) return
      paused = false
      stream.resume()
      deliver()
    }
  }
}

/**
 * Resolves at the stream's next `drain` event, or at once when its send buffer is not full;
 * rejects when the stream closes first or `signal` aborts. Not `stream.onDrain()`: in
 * @libp2p/utils 7.4 that promise is made once and, after the first drain resolved it, handed
 * out again already resolved, so from then on it never waits.
 */
export async function waitForDrain (stream: Stream, signal?: AbortSignal): Promise<void> {
  if (!stream.writableNeedsDrain) return
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: unknown): void => {
      stream.removeEventListener('drain', drained)
      stream.removeEventListener('close', closed)
      signal?.removeEventListener('abort', aborted)
      if (error === undefined) resolve()
      else reject(error)
    }
    const drained = (): void => { settle() }
    const closed = (event: Event): void => { settle((event as Event & { error?: Error }).error ?? new StreamClosedError()) }
    const aborted = (): void => { settle(signal?.reason) }
    stream.addEventListener('drain', drained)
    stream.addEventListener('close', closed)
    signal?.addEventListener('abort', aborted)
  })
}
