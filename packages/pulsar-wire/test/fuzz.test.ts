// The frame decoder under hostile input: whatever arrives, push() returns whole valid frames or
// throws a PulsarWireError, and never anything else; it never buffers past maxFrameSize.
import t from 'tap'
import fc from 'fast-check'
import {
  FrameDecoder, FrameTooLargeError, PulsarWireError, TruncatedFrameError, encodeCommand, type Frame, replies
} from '../src/index.ts'
import { frameArb } from './fixtures/arbitraries.ts'

/** Feeds chunks; returns the frames, or the PulsarWireError that stopped it (anything else fails the property). */
function feed (decoder: FrameDecoder, chunks: Uint8Array[]): { frames: Frame[], error?: PulsarWireError } {
  const frames: Frame[] = []
  try {
    for (const chunk of chunks) frames.push(...decoder.push(chunk))
    decoder.finish()
    return { frames }
  } catch (error) {
    if (error instanceof PulsarWireError) return { frames, error }
    throw error
  }
}

/** Splits bytes at random cut points. */
const chunked = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let start = 0
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, p))
    start = p
  }
  return chunks
}

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

t.test('random bytes: typed errors or valid frames, nothing else', async () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
    feed(new FrameDecoder({ maxFrameSize: 4096 }), chunked(bytes, cuts))
  }), { numRuns: 2000 })
})

t.test('random bytes behind a plausible header reach the protobuf and payload decoders', async () => {
  const framed = fc.uint8Array({ minLength: 1, maxLength: 300 }).chain((body) =>
    fc.nat({ max: body.length }).map((commandSize) => {
      const out = new Uint8Array(8 + body.length)
      new DataView(out.buffer).setUint32(0, 4 + body.length)
      new DataView(out.buffer).setUint32(4, commandSize)
      out.set(body, 8)
      return out
    }))
  fc.assert(fc.property(framed, (bytes) => {
    feed(new FrameDecoder(), [bytes])
  }), { numRuns: 3000 })
})

t.test('valid frames of every kind, split anywhere, decode to the same commands', async (t) => {
  fc.assert(fc.property(fc.array(frameArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
    const { frames: decoded, error } = feed(new FrameDecoder(), chunked(concat(frames.map((f) => f.bytes)), cuts))
    return error === undefined && decoded.length === frames.length &&
      decoded.every((d, i) => d.command.type === frames[i].type && (d.payload !== undefined) === (frames[i].type === 'SEND' || frames[i].type === 'MESSAGE'))
  }), { numRuns: 300 })
  t.pass()
})

t.test('a truncated frame yields no frame, and finish() says truncated', async () => {
  fc.assert(fc.property(frameArb, fc.nat(), ({ bytes }, cut) => {
    const decoder = new FrameDecoder()
    const at = cut % bytes.length
    const frames = decoder.push(bytes.subarray(0, at))
    if (frames.length !== 0) return false
    try {
      decoder.finish()
      return at === 0
    } catch (error) {
      return error instanceof TruncatedFrameError
    }
  }), { numRuns: 500 })
})

t.test('bit flips of valid frames: typed errors or valid frames', async () => {
  fc.assert(fc.property(frameArb, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), ({ bytes }, flips) => {
    const flipped = bytes.slice()
    for (const f of flips) flipped[(f >>> 3) % flipped.length] ^= 1 << (f & 7)
    feed(new FrameDecoder(), [flipped])
  }), { numRuns: 2000 })
})

t.test('an oversized totalSize is refused at once, without buffering the frame', async () => {
  fc.assert(fc.property(fc.integer({ min: 4096 - 3, max: 2 ** 32 - 1 }), (totalSize) => {
    const decoder = new FrameDecoder({ maxFrameSize: 4096 })
    const header = new Uint8Array(8)
    new DataView(header.buffer).setUint32(0, totalSize)
    try {
      decoder.push(header)
      return false
    } catch (error) {
      // Stays failed: the next bytes are refused too.
      return error instanceof FrameTooLargeError && decoder.bufferedBytes === 0 &&
        (() => { try { decoder.push(encodeCommand(replies.ping())); return false } catch (e) { return e === error } })()
    }
  }))
})

t.test('a frame of exactly maxFrameSize is accepted, one byte more is not', async (t) => {
  const ping = encodeCommand(replies.ping())
  t.equal(new FrameDecoder({ maxFrameSize: ping.length }).push(ping).length, 1)
  t.throws(() => new FrameDecoder({ maxFrameSize: ping.length - 1 }).push(ping), FrameTooLargeError)
})
