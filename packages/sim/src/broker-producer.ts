// A simulated producer: one batch in flight at a time (encodeBatch, 1..N messages with
// increasing sequence ids), sent to the node it believes leads. A NOT_LEADER answer moves it to
// the hinted node; NOT_LEADER, BACKPRESSURE, NODE_DOWN, OUTCOME_UNKNOWN, a lost connection or
// no answer within the attempt timeout make it retry the same batch (same sequence ids) until
// the send timeout, then it records the send as failed: definitely (every attempt was refused
// before anything was proposed) or with an unknown outcome.
import type { NodeId, Random } from '@blazar/env'
import { CompressionCodecs, encodeBatch, type BatchEnvelope } from '@blazar/protocol'
import type { BrokerClients } from './broker-consumer.ts'
import { hashBytes } from './hash.ts'
import { sendKey, type SendRecord } from './queue-records.ts'

export interface ProducerOptions {
  /** Messages per batch, uniform in [1, max]. */
  maxBatchMessages: number
  /** Pause between two sends, uniform in [min, max) ms. */
  thinkMs: [number, number]
  /** One attempt waits this long for an answer. */
  attemptTimeoutMs: number
  /** A send is given up after this long (bounded retries). */
  sendTimeoutMs: number
  /** Pause before a retry, uniform in [min, max) ms. */
  retryBackoffMs: [number, number]
  /** Each send carries one of this many keys (`k0`, `k1`, ...), all its messages the same one; none by default. */
  keys?: number
  /** Sends open at once (the node workload's producers, which are the production client, pipeline); 1 by default. */
  maxInFlightSends?: number
  /** Share of sends that are one delayed message (deliverAtTime; Pulsar never batches delayed messages); 0 = none. */
  delayedRatio?: number
  /** A delayed message is due this long after it is sent, uniform in [min, max) ms. */
  delayMs?: [number, number]
  /** Share of sends that are one poison message, which the dead-letter consumers never accept (negative ack until the dead-letter topic); 0 = none. */
  poisonRatio?: number
}

/** Errors raised before anything was proposed: the attempt definitely did nothing. */
const REFUSED_BEFORE_PROPOSING = new Set(['NOT_LEADER', 'BACKPRESSURE', 'NODE_DOWN'])

const codecs = new CompressionCodecs()
const encoder = new TextEncoder()

export class Producer {
  readonly name: string
  private readonly clients: BrokerClients
  private readonly random: Random
  private readonly options: ProducerOptions
  private running = false
  private nextSequenceId = 0
  private leaderHint: NodeId | null = null
  /** The send in progress, if any. */
  private current: SendRecord | null = null

  constructor (name: string, clients: BrokerClients, random: Random, options: ProducerOptions) {
    this.name = name
    this.clients = clients
    this.random = random
    this.options = options
  }

  get busy (): boolean {
    return this.current !== null
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.schedule()
  }

  /** No new sends; the one in flight carries on until it settles or times out. */
  stop (): void {
    this.running = false
  }

  private schedule (): void {
    const [min, max] = this.options.thinkMs
    this.clients.clock.setTimer(this.random.int(min, max), () => this.sendNext())
  }

  private sendNext (): void {
    if (!this.running || this.current !== null) return
    const delayed = (this.options.delayedRatio ?? 0) > 0 && this.random.chance(this.options.delayedRatio ?? 0)
    const poison = !delayed && (this.options.poisonRatio ?? 0) > 0 && this.random.chance(this.options.poisonRatio ?? 0)
    const count = delayed || poison ? 1 : this.random.int(1, this.options.maxBatchMessages + 1)
    const first = this.nextSequenceId
    this.nextSequenceId += count
    const now = this.clients.clock.now()
    const [minDelay, maxDelay] = this.options.delayMs ?? [0, 1]
    // The delay lives in the body's metadata (deliver_at_time); the envelope is derived from it.
    const deliverAtTime = delayed ? now + this.random.int(minDelay, maxDelay) : undefined
    const messages = Array.from({ length: count }, (_, i) => ({
      properties: {}, payload: encoder.encode(`${this.name}.${first + i}`), eventTime: 0, sequenceId: first + i,
      ...(deliverAtTime === undefined ? {} : { deliverAtTime })
    }))
    const batch: BatchEnvelope = encodeBatch(messages, { producerName: this.name }, codecs)
    const send: SendRecord = {
      key: sendKey(this.name, first), producer: this.name, firstSequenceId: first, lastSequenceId: first + count - 1, messageCount: count,
      bodyHash: hashBytes(batch.body), status: 'pending', definite: true, attempts: 0, messageIndex: null, invokedTime: now, completedTime: null,
      ...(poison ? { poison } : {})
    }
    this.current = send
    this.clients.oracles.sendStarted(send)
    this.attempt(send, batch, now + this.options.sendTimeoutMs)
  }

  private attempt (send: SendRecord, batch: BatchEnvelope, deadline: number): void {
    const clock = this.clients.clock
    const target = this.leaderHint ?? this.clients.anyNode(this.random)
    send.attempts++
    this.clients.record(`send ${send.key}+${send.messageCount} a${send.attempts} @${target}`)
    let answered = false
    const timer = clock.setTimer(this.options.attemptTimeoutMs, () => {
      if (answered) return
      answered = true
      send.definite = false
      this.clients.record(`send ${send.key} a${send.attempts} timeout`)
      this.leaderHint = null
      this.retry(send, batch, deadline)
    })
    this.clients.host.request(target, (partition) => this.clients.host.send(partition, batch)).then((result) => {
      if (answered) return
      answered = true
      clock.clearTimer(timer)
      this.leaderHint = target
      const index = result.duplicate ? null : result.messageId.index
      this.clients.record(`send ${send.key} ok ${index ?? 'duplicate'}`)
      this.clients.oracles.sendAcked(send, index, clock.now())
      this.finish()
    }, (error: unknown) => {
      if (answered) return
      answered = true
      clock.clearTimer(timer)
      const code = (error as { code?: string } | null)?.code ?? 'ERROR'
      if (!REFUSED_BEFORE_PROPOSING.has(code)) send.definite = false
      const hint = (error as { details?: { leaderHint?: unknown } } | null)?.details?.leaderHint
      this.leaderHint = typeof hint === 'string' && this.clients.isNode(hint) ? hint : null
      this.clients.record(`send ${send.key} a${send.attempts} ${code}${this.leaderHint === null ? '' : ` -> ${this.leaderHint}`}`)
      this.retry(send, batch, deadline)
    })
  }

  private retry (send: SendRecord, batch: BatchEnvelope, deadline: number): void {
    const clock = this.clients.clock
    const [min, max] = this.options.retryBackoffMs
    const backoff = this.random.int(min, max)
    if (clock.now() + backoff >= deadline) {
      this.clients.record(`send ${send.key} failed ${send.definite ? 'definite' : 'unknown'} after ${send.attempts} attempts`)
      this.clients.oracles.sendFailed(send, clock.now())
      this.finish()
      return
    }
    clock.setTimer(backoff, () => this.attempt(send, batch, deadline))
  }

  private finish (): void {
    this.current = null
    if (this.running) this.schedule()
  }
}
