// A client session's read side under write backpressure, on a scripted stream that behaves
// like @libp2p/utils 7.4's: `drain` events clear writableNeedsDrain, the send queue may fill
// the window again right after, and onDrain() hands out the promise the first drain resolved.
// A session that stopped reading while its replies waited must read again at a drain: else
// flow top-ups, acks, permits and new subscribes on that connection are never read (issue 15,
// bug 3: a consumer stops after its first receiver queue).
import t from 'tap'
import type { Stream } from '@libp2p/interface'
import { ClientSession } from '../src/client-server.ts'
import { CLIENT_REQUEST, SERVER_RESPONSE, decodeServerFrame, packBody } from '../src/body-codec.ts'
import { TransportCounters } from '../src/counters.ts'
import { decodeFrames, encodeFrame } from '../src/frame-codec.ts'
import { resolveSettings } from '../src/settings.ts'

const settings = resolveSettings({})

class ScriptedStream extends EventTarget {
  writableNeedsDrain = false
  writeStatus = 'writable'
  status = 'open'
  paused = false
  readonly sent: Uint8Array[] = []
  /** Set by the next drain's send-queue pass: the buffered bytes fill the window again. */
  private refill = false
  private drainPromise: PromiseWithResolvers<void> | undefined

  constructor () {
    super()
    // The stream's own listener comes first, as in AbstractMessageStream.
    this.addEventListener('drain', () => {
      this.writableNeedsDrain = false
      const refill = this.refill
      queueMicrotask(() => { if (refill) this.writableNeedsDrain = true })
      this.drainPromise?.resolve()
    })
  }

  send (data: Uint8Array): boolean {
    this.sent.push(data)
    return !this.writableNeedsDrain
  }

  async onDrain (): Promise<void> {
    if (!this.writableNeedsDrain) return
    this.drainPromise ??= Promise.withResolvers<void>()
    await this.drainPromise.promise
  }

  pause (): void { this.paused = true }
  resume (): void { this.paused = false }
  async close (): Promise<void> {}
  abort (): void { this.status = 'aborted' }

  /** The muxer's send window opened; with `refill` the queued bytes fill it again at once. */
  drain (refill: boolean): void {
    this.refill = refill
    this.dispatchEvent(new Event('drain'))
  }

  /** A chunk from the client. */
  receive (bytes: Uint8Array): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data: bytes }))
  }

  /** Ids of the requests answered so far. */
  answered (): number[] {
    const bytes = Buffer.concat(this.sent)
    return decodeFrames(bytes, settings.maxFrameBytes).frames.map((body) => decodeServerFrame(body))
      .filter((frame) => frame.t === SERVER_RESPONSE).map((frame) => (frame as { id: number }).id)
  }
}

function requestFrame (id: number): Uint8Array {
  return Buffer.concat(encodeFrame(packBody({ t: CLIENT_REQUEST, id, body: { type: 'flow', permits: 500 } }), settings.maxFrameBytes))
}

async function settled (): Promise<void> {
  await new Promise((resolve) => { setImmediate(resolve) })
}

function session (stream: ScriptedStream): ClientSession {
  return new ClientSession({ peer: 'client', stream: stream as unknown as Stream, settings, counters: new TransportCounters(), handler: () => () => ({}) })
}

t.test('a reply written while the send buffer is full stops reading; the next drain resumes it even if the buffer fills again first', async (t) => {
  const stream = new ScriptedStream()
  session(stream)
  stream.writableNeedsDrain = true // pushes of a full receiver queue fill the send window
  stream.receive(requestFrame(1))
  await settled()
  t.ok(stream.paused, 'no more requests are read while the reply waits for the socket')
  stream.drain(true)
  await settled()
  stream.drain(false)
  await settled()
  t.notOk(stream.paused, 'reading again once the stream drained')
  stream.receive(requestFrame(2))
  await settled()
  t.same(stream.answered(), [1, 2], 'the next flow request is served')
})

t.test('the second backpressure episode resumes too (onDrain() would answer with the promise of the first)', async (t) => {
  const stream = new ScriptedStream()
  session(stream)
  for (const id of [1, 2]) {
    stream.writableNeedsDrain = true
    stream.receive(requestFrame(id))
    await settled()
    t.ok(stream.paused, `episode ${id}: reading stops`)
    stream.drain(false)
    await settled()
    t.notOk(stream.paused, `episode ${id}: reading resumes at the drain`)
  }
  stream.receive(requestFrame(3))
  await settled()
  t.same(stream.answered(), [1, 2, 3])
})
