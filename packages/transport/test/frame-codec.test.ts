// Fuzzing of the frame layer and every body decoder: whatever the bytes, the decoders either
// return frames or throw a typed transport error, and never buffer more than one frame's worth.
import t from 'tap'
import fc from 'fast-check'
import { decodeFrames, encodeFrame, encodeVarint, FrameDecoder, readVarint } from '../src/frame-codec.ts'
import {
  decodeClientFrame, decodeJoinAnswer, decodeJoinRequest, decodeRaftBatch, decodeServerFrame, packBody, raftBatchBody
} from '../src/body-codec.ts'
import { FrameTooLargeError, MalformedFrameError, TransportError, TruncatedFrameError } from '../src/errors.ts'
import { MAX_VARINT_BYTES } from '../src/settings.ts'

const MAX = 4096
const runs = { numRuns: 400 }

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.byteLength }
  return out
}

/** Splits bytes at the given cut points (sorted, deduplicated, within range). */
function chunk (bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let from = 0
  for (const p of points) { out.push(bytes.subarray(from, p)); from = p }
  out.push(bytes.subarray(from))
  return out
}

function feed (decoder: FrameDecoder, chunks: Uint8Array[]): { frames: Uint8Array[], error?: unknown } {
  const frames: Uint8Array[] = []
  for (const c of chunks) {
    try {
      frames.push(...decoder.push(c))
    } catch (error) {
      return { frames, error }
    }
    if (decoder.bufferedBytes > MAX + MAX_VARINT_BYTES) throw new Error(`decoder buffered ${decoder.bufferedBytes} bytes`)
  }
  return { frames }
}

t.test('varint round-trips every length up to 2^35 and rejects non-minimal or long prefixes', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 35 - 1 }), (n) => {
    const bytes = encodeVarint(n)
    const read = readVarint(bytes)
    return read !== undefined && read.value === n && read.length === bytes.byteLength
  }), runs)
  t.throws(() => readVarint(Uint8Array.of(0x80, 0x00)), MalformedFrameError)
  t.throws(() => readVarint(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), MalformedFrameError)
  t.equal(readVarint(Uint8Array.of(0xff, 0xff)), undefined, 'incomplete prefix asks for more bytes')
})

t.test('encoded frames decode back whatever the chunking', async (t) => {
  fc.assert(fc.property(
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { maxLength: 12 }),
    fc.array(fc.nat(), { maxLength: 20 }),
    (bodies, cuts) => {
      const wire = concat(bodies.flatMap((b) => encodeFrame(b, MAX)))
      const decoder = new FrameDecoder(MAX)
      const { frames, error } = feed(decoder, chunk(wire, cuts))
      decoder.end()
      return error === undefined && frames.length === bodies.length &&
        frames.every((f, i) => Buffer.from(f).equals(Buffer.from(bodies[i])))
    }), runs)
  t.pass('round trip holds')
})

t.test('random bytes never crash the decoder and never grow its buffer past one frame', async (t) => {
  let typedErrors = 0
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
    const { error } = feed(new FrameDecoder(MAX), chunk(bytes, cuts))
    if (error !== undefined) {
      typedErrors++
      return error instanceof TransportError
    }
    return true
  }), { numRuns: 1000 })
  t.ok(typedErrors > 0, 'some random inputs are rejected with typed errors')
})

t.test('a truncated frame yields the complete frames before it, then TruncatedFrameError at end', async (t) => {
  fc.assert(fc.property(
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 6 }),
    fc.nat(),
    (bodies, cutSeed) => {
      const encoded = bodies.map((b) => concat(encodeFrame(b, MAX)))
      const wire = concat(encoded)
      const cut = cutSeed % wire.byteLength
      const decoder = new FrameDecoder(MAX)
      const { frames, error } = feed(decoder, [wire.subarray(0, cut)])
      if (error !== undefined) return false
      let complete = 0
      let offset = 0
      while (complete < encoded.length && offset + encoded[complete].byteLength <= cut) offset += encoded[complete++].byteLength
      if (frames.length !== complete) return false
      if (offset === cut) { decoder.end(); return true }
      try { decoder.end(); return false } catch (err) { return err instanceof TruncatedFrameError }
    }), runs)
  t.pass('truncation detected')
})

t.test('announced lengths up to 2^32 are rejected from the prefix alone, without buffering', async (t) => {
  fc.assert(fc.property(fc.integer({ min: MAX + 1, max: 2 ** 32 }), fc.uint8Array({ maxLength: 64 }), (length, tail) => {
    const decoder = new FrameDecoder(MAX)
    try {
      decoder.push(concat([encodeVarint(length), tail]))
      return false
    } catch (err) {
      return err instanceof FrameTooLargeError && err.frameBytes === length && decoder.bufferedBytes <= MAX_VARINT_BYTES + 64
    }
  }), runs)
  const before = process.memoryUsage().arrayBuffers
  const decoder = new FrameDecoder(2 ** 30)
  t.same(decoder.push(encodeVarint(2 ** 30)), [], 'a 1 GiB frame is announced')
  t.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024, 'nothing is allocated for the announced body')
  t.throws(() => new FrameDecoder(MAX).push(Uint8Array.of(0)), MalformedFrameError, 'empty frame')
  t.same(decodeFrames(concat(encodeFrame(Uint8Array.of(1, 2), MAX)), MAX).frames.map((f) => [...f]), [[1, 2]])
  t.throws(() => encodeFrame(new Uint8Array(MAX + 1), MAX), FrameTooLargeError, 'the sender refuses oversized frames too')
})

const bodyDecoders: Array<[string, (body: Uint8Array) => unknown]> = [
  ['raft batch', decodeRaftBatch],
  ['client frame', decodeClientFrame],
  ['server frame', decodeServerFrame],
  ['join request', decodeJoinRequest],
  ['join answer', decodeJoinAnswer]
]

for (const [name, decode] of bodyDecoders) {
  t.test(`${name} decoder: random bytes and random msgpack values give a value or MalformedFrameError`, async (t) => {
    const onlyMalformed = (body: Uint8Array): boolean => {
      try { decode(body); return true } catch (err) { return err instanceof MalformedFrameError }
    }
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), onlyMalformed), { numRuns: 1000 })
    fc.assert(fc.property(fc.anything({ withTypedArray: true, withMap: true, withSet: true, withBigInt: true }), (value) => {
      let body: Uint8Array
      try { body = packBody(value) } catch { return true }
      return onlyMalformed(body)
    }), runs)
    // msgpack headers announcing 2^32-1 elements/bytes with nothing behind them
    for (const header of [[0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0xff, 0xff, 0xff, 0xff], [0xc6, 0xff, 0xff, 0xff, 0xff], [0xdb, 0xff, 0xff, 0xff, 0xff]]) {
      const before = process.memoryUsage().rss
      t.throws(() => decode(Uint8Array.from(header)), MalformedFrameError)
      t.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'no allocation for the announced size')
    }
  })
}

t.test('raft batches built from pre-encoded messages decode to the messages', async (t) => {
  const message = fc.record({ type: fc.string(), group: fc.string(), term: fc.nat(), data: fc.uint8Array({ maxLength: 40 }) })
  fc.assert(fc.property(fc.array(message, { maxLength: 40 }), (messages) => {
    const decoded = decodeRaftBatch<{ group: string, data: Uint8Array }>(raftBatchBody(messages.map(packBody)))
    t.same(decoded.map((m) => ({ ...m, data: new Uint8Array(m.data) })), messages)
    return decoded.length === messages.length
  }), { numRuns: 100 })
  const many = Array.from({ length: 70_000 }, (_, i) => packBody({ type: 'hb', group: `g${i}` }))
  t.equal(decodeRaftBatch(raftBatchBody(many)).length, 70_000, 'array32 header')
  t.throws(() => decodeRaftBatch(packBody([{ type: 'x' }])), MalformedFrameError, 'a message without a group is refused')
})
