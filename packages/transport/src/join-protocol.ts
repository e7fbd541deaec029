// /blazar/join/1: a node asks to join with the cluster secret; one request frame, one answer
// frame, then both sides close. The secret is checked first, in constant time (both sides
// hashed to equal length, then timingSafeEqual); a wrong or missing secret is refused and
// counted without ever reaching the host's handler, which decides everything else.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Clock } from '@blazar/env'
import type { Stream } from '@libp2p/interface'
import { decodeJoinAnswer, decodeJoinRequest, packBody } from './body-codec.ts'
import type { JoinAnswerFrame } from './body-codec.ts'
import type { TransportCounters } from './counters.ts'
import { JoinRefusedError, StreamClosedError } from './errors.ts'
import { FrameWriter, readFrames } from './framed-stream.ts'
import type { TransportSettings } from './settings.ts'

export interface JoinRequest {
  /** PeerId of the node asking (authenticated by Noise). */
  peer: string
  /** What the joining node sent (e.g. its addresses); opaque to the transport. */
  body: unknown
}

export type JoinDecision = { accepted: true, body?: unknown } | { accepted: false, reason: string }
export type JoinHandler = (request: JoinRequest) => JoinDecision | Promise<JoinDecision>

export function secretMatches (given: Uint8Array, expected: Uint8Array | undefined): boolean {
  if (expected === undefined || expected.byteLength === 0) return false
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

export function serveJoin (stream: Stream, options: {
  peer: string
  secret: Uint8Array | undefined
  handler: JoinHandler | undefined
  settings: TransportSettings
  counters: TransportCounters
  clock: Clock
}): void {
  const { counters, settings, clock } = options
  const writer = new FrameWriter(stream, settings.maxJoinFrameBytes)
  const timer = clock.setTimer(settings.joinTimeoutMs, () => { stream.abort(new StreamClosedError('join timed out')) })
  stream.addEventListener('close', () => { clock.clearTimer(timer) })
  let answered = false
  const answer = (frame: JoinAnswerFrame): void => {
    if (frame.accepted) counters.add('joinsAccepted')
    else counters.add('joinsRefused')
    writer.write(packBody(frame))
    writer.flush()
    stream.close().catch(() => {})
  }
  readFrames(stream, settings.maxJoinFrameBytes, {
    onFrame: (body) => {
      if (answered) return
      answered = true
      const request = decodeJoinRequest(body)
      if (!secretMatches(request.secret, options.secret)) { answer({ accepted: false, reason: 'wrong cluster secret' }); return }
      const handler = options.handler
      if (handler === undefined) { answer({ accepted: false, reason: 'this node does not admit members' }); return }
      Promise.resolve()
        .then(() => handler({ peer: options.peer, body: request.body }))
        .then((decision) => {
          answer(decision.accepted ? { accepted: true, body: decision.body ?? null } : { accepted: false, reason: decision.reason })
        }, (error: unknown) => { answer({ accepted: false, reason: `join handler failed: ${String(error)}` }) })
    },
    onError: (error) => { counters.addStreamError(error) }
  })
}

/** Client side: sends the request on a freshly dialled stream; resolves with the accepted answer's body. */
export async function requestJoin (stream: Stream, request: { secret: Uint8Array, body: unknown }, options: {
  settings: TransportSettings
  counters: TransportCounters
  signal: AbortSignal
}): Promise<unknown> {
  const { settings, counters, signal } = options
  const answer = new Promise<JoinAnswerFrame>((resolve, reject) => {
    readFrames(stream, settings.maxJoinFrameBytes, {
      onFrame: (body) => { resolve(decodeJoinAnswer(body)) },
      onError: (error) => { counters.addStreamError(error); reject(error) }
    })
    stream.addEventListener('close', (event) => { reject(event.error ?? new StreamClosedError('join stream closed before an answer')) })
    signal.addEventListener('abort', () => {
      stream.abort(new StreamClosedError('join timed out'))
      reject(signal.reason)
    }, { once: true })
  })
  const writer = new FrameWriter(stream, settings.maxJoinFrameBytes)
  writer.write(packBody({ secret: request.secret, body: request.body }))
  writer.flush()
  const frame = await answer
  stream.close().catch(() => {})
  if (!frame.accepted) throw new JoinRefusedError(frame.reason)
  return frame.body
}
