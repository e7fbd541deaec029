// Waiting for a libp2p stream's send buffer to drain. `Stream.onDrain()` of @libp2p/utils 7.4.1
// creates its promise once and never clears it after a 'drain' resolves it, so every later
// call, while the stream needs drain again, returns that already resolved promise. A caller
// that loops on it re-enters as a microtask forever and the socket's real 'drain' is never
// processed (issue 15, bug 1: a node spinning at 100% CPU in RaftLink.flush after a peer
// restarted and its catch-up filled the buffer). This waits for the next 'drain' event itself.
import type { Stream } from '@libp2p/interface'
import { StreamClosedError } from './errors.ts'

/**
 * Resolves when `stream` can take more data: at once if it can now, else at its next 'drain'.
 * Rejects when the stream closes (or is no longer writable) first, or when `signal` aborts.
 */
export function whenDrained (stream: Stream, signal?: AbortSignal): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve()
  if (stream.writeStatus !== 'writable' && stream.writeStatus !== 'closing') {
    return Promise.reject(new StreamClosedError(`stream is ${stream.writeStatus}`))
  }
  signal?.throwIfAborted()
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => {
      // The stream's own 'drain' listener (registered first) clears writableNeedsDrain; if the
      // buffer filled up again meanwhile, keep waiting for the next one.
      if (stream.writableNeedsDrain) return
      cleanup()
      resolve()
    }
    const onClose = (): void => {
      cleanup()
      reject(new StreamClosedError('stream closed while waiting for drain'))
    }
    const onAbort = (): void => {
      cleanup()
      reject(signal?.reason)
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
