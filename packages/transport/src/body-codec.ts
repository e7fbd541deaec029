// Frame bodies: msgpack (msgpackr with records off, so every frame decodes on its own) and
// the shape checks for each protocol's frames. Every decoder here is pure and throws only
// MalformedFrameError, whatever the input bytes.
import { Packr } from 'msgpackr'
import { MalformedFrameError } from './errors.ts'

const packr = new Packr({ useRecords: false, moreTypes: false })

export function packBody (value: unknown): Uint8Array {
  return packr.pack(value)
}

export function unpackBody (body: Uint8Array): unknown {
  try {
    return packr.unpack(body)
  } catch (err) {
    throw new MalformedFrameError(`undecodable msgpack: ${(err as Error).message}`, { cause: err })
  }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

// ---- /blazar/raft/1: body = msgpack array of raft messages; an empty array is a node heartbeat.

/** The least a raft message must carry for the router: the group it belongs to. */
export interface GroupAddressed {
  group: string
}

/** msgpack array header for n elements (fixarray, array16 or array32). */
export function arrayHeader (n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n)
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff)
  return Uint8Array.of(0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
}

/** Bytes added to a raft frame body on top of its pre-encoded messages (worst case). */
export const RAFT_FRAME_OVERHEAD_BYTES = 5

/** Joins pre-encoded messages into one raft frame body without re-encoding them. */
export function raftBatchBody (encodedMessages: readonly Uint8Array[]): Uint8Array {
  const header = arrayHeader(encodedMessages.length)
  let total = header.byteLength
  for (const m of encodedMessages) total += m.byteLength
  const out = new Uint8Array(total)
  out.set(header, 0)
  let offset = header.byteLength
  for (const m of encodedMessages) { out.set(m, offset); offset += m.byteLength }
  return out
}

export function decodeRaftBatch<M extends GroupAddressed> (body: Uint8Array): M[] {
  const value = unpackBody(body)
  if (!Array.isArray(value)) throw new MalformedFrameError('raft frame is not an array')
  for (const message of value) {
    if (!isRecord(message) || typeof message.group !== 'string' || typeof message.type !== 'string') {
      throw new MalformedFrameError('raft message without string group and type')
    }
  }
  return value as M[]
}

// ---- /blazar/client/1

export const CLIENT_REQUEST = 1
export const CLIENT_PERMITS = 2
export const SERVER_RESPONSE = 3
export const SERVER_ERROR = 4
export const SERVER_PUSH = 5

export type ClientFrame =
  | { t: typeof CLIENT_REQUEST, id: number, body: unknown }
  | { t: typeof CLIENT_PERMITS, n: number }

export type ServerFrame =
  | { t: typeof SERVER_RESPONSE, id: number, body: unknown }
  | { t: typeof SERVER_ERROR, id: number, code: string, message: string }
  | { t: typeof SERVER_PUSH, body: unknown }

function isCount (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

export function decodeClientFrame (body: Uint8Array): ClientFrame {
  const frame = unpackBody(body)
  if (!isRecord(frame)) throw new MalformedFrameError('client frame is not a map')
  if (frame.t === CLIENT_REQUEST && isCount(frame.id) && 'body' in frame) return { t: CLIENT_REQUEST, id: frame.id, body: frame.body }
  if (frame.t === CLIENT_PERMITS && isCount(frame.n) && frame.n > 0) return { t: CLIENT_PERMITS, n: frame.n }
  throw new MalformedFrameError('unknown or ill-shaped client frame')
}

export function decodeServerFrame (body: Uint8Array): ServerFrame {
  const frame = unpackBody(body)
  if (!isRecord(frame)) throw new MalformedFrameError('server frame is not a map')
  if (frame.t === SERVER_RESPONSE && isCount(frame.id) && 'body' in frame) return { t: SERVER_RESPONSE, id: frame.id, body: frame.body }
  if (frame.t === SERVER_ERROR && isCount(frame.id) && typeof frame.code === 'string' && typeof frame.message === 'string') {
    return { t: SERVER_ERROR, id: frame.id, code: frame.code, message: frame.message }
  }
  if (frame.t === SERVER_PUSH && 'body' in frame) return { t: SERVER_PUSH, body: frame.body }
  throw new MalformedFrameError('unknown or ill-shaped server frame')
}

// ---- /blazar/join/1: one request frame, one answer frame.

export interface JoinRequestFrame {
  secret: Uint8Array
  body: unknown
}

export type JoinAnswerFrame = { accepted: true, body: unknown } | { accepted: false, reason: string }

export function decodeJoinRequest (body: Uint8Array): JoinRequestFrame {
  const frame = unpackBody(body)
  if (!isRecord(frame) || !(frame.secret instanceof Uint8Array) || !('body' in frame)) {
    throw new MalformedFrameError('ill-shaped join request')
  }
  return { secret: frame.secret, body: frame.body }
}

export function decodeJoinAnswer (body: Uint8Array): JoinAnswerFrame {
  const frame = unpackBody(body)
  if (isRecord(frame) && frame.accepted === true && 'body' in frame) return { accepted: true, body: frame.body }
  if (isRecord(frame) && frame.accepted === false && typeof frame.reason === 'string') return { accepted: false, reason: frame.reason }
  throw new MalformedFrameError('ill-shaped join answer')
}
