// The node workload's producers: each one is the production client (@blazar/client Client and
// Producer) over simulated connections, so its lookups, leader hints, pipelining (several
// sends open at once), recovery and resends in order are the real ones. A send is a batch of
// 1..maxBatchMessages messages with explicit sequence ids, flushed at once, so the workload
// knows each batch's identity (`producer#firstSequenceId`) before it reaches a node. What went
// on the wire is read off the client's transport: the batch bytes (the oracles' body hash) and
// how each attempt ended (a send stays definite while every attempt was refused before the
// node proposed anything).
import type { Client, ClientFaults, Producer } from '@blazar/client'
import type { NodeId, Random } from '@blazar/env'
import type { BatchEnvelope, ClientRequestBody } from '@blazar/protocol'
import { RemoteRequestError } from '@blazar/transport'
import type { ProducerOptions } from './broker-producer.ts'
import { hashBytes } from './hash.ts'
import { codeOf, createSimClient } from './node-client-transport.ts'
import { checkedReply, type NodeClients } from './node-clients.ts'
import { sendKey, type SendRecord } from './queue-records.ts'

/** Answers that say the node proposed nothing: the attempt definitely did not store the batch. */
const REFUSED_BEFORE_PROPOSING = new Set(['NOT_LEADER', 'BACKPRESSURE', 'NODE_DOWN', 'UNKNOWN_TOPIC', 'METADATA_UNAVAILABLE', 'PRODUCER_CLOSED', 'OUT_OF_ORDER_SEQUENCE'])
/** Transport failures raised by the node before its gateway saw the request (it was starting). */
const REFUSED_BY_TRANSPORT = new Set(['NO_HANDLER'])
/** Sends one producer keeps open at once unless the workload says otherwise. */
export const DEFAULT_MAX_IN_FLIGHT_SENDS = 1

const encoder = new TextEncoder()

export class NodeProducer {
  readonly name: string
  private readonly clients: NodeClients
  private readonly random: Random
  private readonly options: ProducerOptions
  private readonly faults: ClientFaults | undefined
  /** Sends by key, for the wire observer (a resend names its batch by the same key). */
  private readonly sends = new Map<string, SendRecord>()
  private client: Client | null = null
  private producer: Producer | null = null
  private opening = false
  private running = false
  private nextSequenceId = 0
  private open = 0

  constructor (name: string, clients: NodeClients, random: Random, options: ProducerOptions, faults?: ClientFaults) {
    this.name = name
    this.clients = clients
    this.random = random
    this.options = options
    this.faults = faults
  }

  /** Some send is neither acknowledged nor failed yet. */
  get busy (): boolean {
    return this.open > 0
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.schedule()
  }

  stop (): void {
    this.running = false
  }

  private schedule (): void {
    const [min, max] = this.options.thinkMs
    this.clients.clock.setTimer(this.random.int(min, max), () => { this.tick() })
  }

  private tick (): void {
    if (!this.running) return
    if (this.producer === null) this.openProducer()
    else if (this.open < (this.options.maxInFlightSends ?? DEFAULT_MAX_IN_FLIGHT_SENDS)) this.sendNext(this.producer)
    this.schedule()
  }

  /** Creates the client (first time) and the producer; a failure is tried again on a later tick. */
  private openProducer (): void {
    if (this.opening) return
    this.opening = true
    const { clients, options } = this
    const open = async (): Promise<Producer> => {
      this.client ??= await createSimClient(clients.world, {
        name: `client-${this.name}`,
        random: this.random,
        operationTimeoutMs: options.attemptTimeoutMs,
        observe: (node, body, outcome) => { this.observe(node, body, outcome) },
        ...(this.faults === undefined ? {} : { faults: this.faults })
      })
      return await this.client.createProducer({
        topic: clients.topic, producerName: this.name, sendTimeoutMs: options.sendTimeoutMs,
        batchingEnabled: true, batchingMaxMessages: options.maxBatchMessages
      })
    }
    open().then((producer) => {
      this.producer = producer
      clients.record(`producer ${this.name} created`)
    }, (error: unknown) => {
      clients.record(`producer ${this.name} not created: ${codeOf(error)}`)
    }).finally(() => { this.opening = false })
  }

  private sendNext (producer: Producer): void {
    const clients = this.clients
    const count = this.random.int(1, this.options.maxBatchMessages + 1)
    const keys = this.options.keys ?? 0
    const key = keys > 0 ? `k${this.random.int(0, keys)}` : undefined
    const first = this.nextSequenceId
    this.nextSequenceId += count
    const send: SendRecord = {
      key: sendKey(this.name, first), producer: this.name, firstSequenceId: first, lastSequenceId: first + count - 1, messageCount: count,
      bodyHash: -1, status: 'pending', definite: true, attempts: 0, messageIndex: null, invokedTime: clients.clock.now(), completedTime: null
    }
    this.sends.set(send.key, send)
    clients.oracles.sendStarted(send)
    clients.record(`send ${send.key}+${count}${key === undefined ? '' : ` key ${key}`}`)
    this.open++
    const sent = Array.from({ length: count }, (_, i) => producer.send({ data: encoder.encode(`${this.name}.${first + i}`), sequenceId: first + i, ...(key === undefined ? {} : { key }) }))
    // Every message of the send goes in one batch: the last fills it, or the flush sends it.
    producer.flush().catch(() => {})
    Promise.all(sent).then((ids) => {
      const index = ids[0].index
      if (ids.some((id, i) => id.index !== index || id.batchIndex !== i)) {
        clients.oracles.report('queue-lost-message', `send ${send.key} was acknowledged as ${ids.map((id) => `${id.index}:${id.batchIndex}`).join(', ')}, not as one batch`)
      }
      // A resend the partition deduplicated, whose first copy's id the client never learned, is
      // answered with MessageId.earliest (index 0, no Raft entry has it), as Pulsar answers -1:-1.
      const deduplicated = index === 0
      clients.record(`send ${send.key} ok ${deduplicated ? 'duplicate' : index}`)
      clients.oracles.sendAcked(send, deduplicated ? null : index, clients.clock.now())
    }, (error: unknown) => {
      clients.record(`send ${send.key} failed ${send.definite ? 'definite' : 'unknown'} after ${send.attempts} attempts: ${codeOf(error)}`)
      clients.oracles.sendFailed(send, clients.clock.now())
    }).finally(() => {
      this.open--
      this.sends.delete(send.key)
    })
  }

  /** A request the client put on the wire to `node`. */
  private observe (node: NodeId, body: unknown, outcome: Promise<unknown>): void {
    const request = body as ClientRequestBody
    const batch = request.type === 'send' ? request.batch : null
    const send = batch === null ? undefined : this.sends.get(sendKey(this.name, batch.firstSequenceId))
    if (batch !== null && send !== undefined) this.sentOnWire(send, batch, node)
    outcome.then((raw) => {
      const reply = checkedReply(this.clients, this.name, node, request, raw)
      if (reply.ok || send === undefined) return
      this.clients.record(`send ${send.key} a${send.attempts} @${node} ${reply.error.code}`)
      if (!REFUSED_BEFORE_PROPOSING.has(reply.error.code)) send.definite = false
    }, (error: unknown) => {
      if (send === undefined) return
      this.clients.record(`send ${send.key} a${send.attempts} @${node} ${codeOf(error)}`)
      if (!(error instanceof RemoteRequestError && REFUSED_BY_TRANSPORT.has(error.remoteCode))) send.definite = false
    })
  }

  private sentOnWire (send: SendRecord, batch: BatchEnvelope, node: NodeId): void {
    send.attempts++
    const hash = hashBytes(batch.body)
    if (send.bodyHash === -1) send.bodyHash = hash
    else if (send.bodyHash !== hash) this.clients.oracles.report('queue-phantom-message', `send ${send.key} went out again with other bytes (attempt ${send.attempts} to ${node})`)
    if (batch.lastSequenceId !== send.lastSequenceId) {
      this.clients.oracles.report('queue-phantom-message', `send ${send.key} went out as ${batch.firstSequenceId}..${batch.lastSequenceId}, not ..${send.lastSequenceId}`)
    }
    this.clients.record(`send ${send.key} a${send.attempts} -> ${node}`)
  }
}
