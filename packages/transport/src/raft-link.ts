// One outbound /blazar/raft/1 stream to one peer: a bounded queue of encoded Raft messages,
// flushed as few frames as possible once per event-loop turn, and a reconnect loop with
// capped exponential backoff and jitter. Raft tolerates loss, so when the queue is full or
// the peer is unreachable messages are dropped, and every drop is counted.
import type { Clock, Random, TimerHandle } from '@blazar/env'
import type { Stream } from '@libp2p/interface'
import { reconnectDelayMs } from './backoff.ts'
import { RAFT_FRAME_OVERHEAD_BYTES, raftBatchBody } from './body-codec.ts'
import type { TransportCounters } from './counters.ts'
import { whenDrained } from './drain.ts'
import { assert } from './errors.ts'
import { FrameWriter } from './framed-stream.ts'
import type { TransportSettings } from './settings.ts'

/** What a link needs from its transport. */
export interface LinkContext {
  settings: TransportSettings
  clock: Clock
  random: Random
  counters: TransportCounters
  /** Opens a raft stream to `peer` (rejects on failure or after dialTimeoutMs). */
  dial (peer: string): Promise<Stream>
}

/** The empty batch: a node-level heartbeat. */
const HEARTBEAT_BODY = raftBatchBody([])

export class RaftLink {
  readonly peer: string
  private readonly context: LinkContext
  private queue: Uint8Array[] = []
  private queuedBytes = 0
  private stream: Stream | undefined
  private writer: FrameWriter | undefined
  private dialing = false
  private attempt = 0
  private reconnectTimer: TimerHandle | undefined
  private flushScheduled = false
  private waitingForDrain = false
  private stopped = false
  /** clock.now() of the last frame written (heartbeats are skipped while traffic flows). */
  lastSentAt = Number.NEGATIVE_INFINITY

  constructor (peer: string, context: LinkContext) {
    this.peer = peer
    this.context = context
  }

  get connected (): boolean {
    return this.stream !== undefined
  }

  get queuedMessages (): number {
    return this.queue.length
  }

  /** Queues one encoded message; returns false (and counts it) when it is dropped. */
  enqueue (encoded: Uint8Array): boolean {
    const { settings, counters } = this.context
    if (this.stopped) return false
    if (encoded.byteLength + RAFT_FRAME_OVERHEAD_BYTES > settings.maxFrameBytes) {
      counters.add('raftMessagesDroppedOversized')
      return false
    }
    if (this.queue.length >= settings.raftQueueMaxMessages || this.queuedBytes + encoded.byteLength > settings.raftQueueMaxBytes) {
      counters.add('raftMessagesDroppedQueueFull')
      return false
    }
    this.queue.push(encoded)
    this.queuedBytes += encoded.byteLength
    if (this.stream !== undefined) this.scheduleFlush()
    else this.connect()
    return true
  }

  /** Sends a node-level heartbeat if nothing went out for a heartbeat interval; dials if not connected. */
  heartbeat (): void {
    if (this.stopped) return
    if (this.stream === undefined) { this.connect(); return }
    if (this.context.clock.now() - this.lastSentAt < this.context.settings.nodeHeartbeatIntervalMs / 2) return
    if (this.stream.writableNeedsDrain) return
    this.writer?.write(HEARTBEAT_BODY)
    this.writer?.flush()
    this.lastSentAt = this.context.clock.now()
    this.context.counters.add('nodeHeartbeatsSent')
  }

  /** Starts dialing unless connected, dialing, or waiting out a backoff. */
  connect (): void {
    if (this.stopped || this.stream !== undefined || this.dialing || this.reconnectTimer !== undefined) return
    this.dialing = true
    this.context.dial(this.peer).then((stream) => {
      this.dialing = false
      if (this.stopped) { stream.abort(new Error('transport stopped')); return }
      if (stream.status !== 'open') { this.failed(); return }
      this.opened(stream)
    }, () => {
      this.dialing = false
      this.failed()
    })
  }

  stop (): void {
    this.stopped = true
    if (this.reconnectTimer !== undefined) this.context.clock.clearTimer(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.dropQueue()
    this.stream?.abort(new Error('link stopped'))
    this.stream = undefined
  }

  private opened (stream: Stream): void {
    const { settings, counters } = this.context
    this.stream = stream
    this.writer = new FrameWriter(stream, settings.maxFrameBytes)
    counters.add('raftConnects')
    const openedAt = this.context.clock.now()
    stream.addEventListener('close', () => {
      if (this.stream !== stream) return
      // Only a stream that stayed up resets the backoff: a peer that accepts and then closes
      // at once (e.g. we are not on its allowlist) is retried ever more slowly, not in a loop.
      if (this.context.clock.now() - openedAt >= settings.reconnectMaxDelayMs) this.attempt = 0
      this.stream = undefined
      this.writer = undefined
      this.waitingForDrain = false
      this.scheduleReconnect()
    })
    this.scheduleFlush()
  }

  private failed (): void {
    this.context.counters.add('raftDialFailures')
    // Messages for an unreachable peer are stale by the time it is back: Raft resends what matters.
    this.dropQueue()
    this.scheduleReconnect()
  }

  private scheduleReconnect (): void {
    if (this.stopped || this.reconnectTimer !== undefined) return
    const { settings, clock, random } = this.context
    const delay = reconnectDelayMs(this.attempt++, settings.reconnectBaseDelayMs, settings.reconnectMaxDelayMs, random.next())
    this.reconnectTimer = clock.setTimer(delay, () => {
      this.reconnectTimer = undefined
      this.connect()
    })
  }

  private dropQueue (): void {
    if (this.queue.length > 0) this.context.counters.add('raftMessagesDroppedUnreachable', this.queue.length)
    this.queue = []
    this.queuedBytes = 0
  }

  private scheduleFlush (): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    // setImmediate, not a microtask: messages produced by every timer and promise continuation
    // of this event-loop turn (e.g. after storage syncs) share the frame.
    setImmediate(() => {
      this.flushScheduled = false
      this.flush()
    })
  }

  private flush (): void {
    const stream = this.stream
    const writer = this.writer
    if (stream === undefined || writer === undefined || this.queue.length === 0 || this.waitingForDrain) return
    if (stream.writableNeedsDrain) {
      this.waitingForDrain = true
      whenDrained(stream).then(() => {
        this.waitingForDrain = false
        this.flush()
      }, () => { this.waitingForDrain = false })
      return
    }
    const { settings, counters } = this.context
    let batch: Uint8Array[] = []
    let batchBytes = RAFT_FRAME_OVERHEAD_BYTES
    const emit = (): void => {
      writer.write(raftBatchBody(batch))
      counters.add('raftFramesSent')
      counters.add('raftBytesSent', batchBytes)
      counters.add('raftMessagesSent', batch.length)
      batch = []
      batchBytes = RAFT_FRAME_OVERHEAD_BYTES
    }
    for (const message of this.queue) {
      if (batch.length >= settings.raftMaxMessagesPerFrame || batchBytes + message.byteLength > settings.maxFrameBytes) emit()
      batch.push(message)
      batchBytes += message.byteLength
    }
    assert(batch.length > 0, 'flush of a non-empty queue ends with a non-empty batch')
    emit()
    this.queue = []
    this.queuedBytes = 0
    writer.flush()
    this.lastSentAt = this.context.clock.now()
  }
}
