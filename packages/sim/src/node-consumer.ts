// The node workload's consumers: each one is the production client (@blazar/client Client and
// Consumer) over simulated connections, so its lookups, subscribe retries, flow permits,
// resubscribes after a close or a lost connection, grouped acknowledgements and negative-ack
// redeliveries are the real ones. It processes what `receive()` hands it (a processing time per
// batch), then acknowledges each message individually or cumulatively (Exclusive), or negatively
// acknowledges it. Every NODE_CONSUMER_RESTART_MS or so it closes its consumer and subscribes
// again (a new consumer id, as an application restarting its consumer does), so subscribes
// and closes also happen mid-run, under the nemesis. The oracles judge batches: the batch bytes come off the wire (the latest
// push of each log index), and a batch counts as delivered when the application receives one
// of its messages, so what the client itself drops (a stale push, a seek) is not delivered.
import type { Client, Consumer, Message } from '@blazar/client'
import type { NodeId, Random } from '@blazar/env'
import { parseServerPush, type ClientRequestBody, type DeliveredEntry } from '@blazar/protocol'
import type { ConsumerOptions } from './broker-consumer.ts'
import { codeOf, createSimClient } from './node-client-transport.ts'
import { checkedReply, type NodeClients } from './node-clients.ts'
import type { SubscriptionRecord } from './queue-records.ts'

/** A negatively acknowledged message is asked for again after this long (Pulsar's default is 60 s). */
export const NODE_NACK_REDELIVERY_DELAY_MS = 100
/** Virtual ms between two restarts of a consumer by its application (close, then subscribe anew), drawn in this range. */
export const NODE_CONSUMER_RESTART_MS: readonly [number, number] = [2_000, 9_000]

export class NodeConsumer {
  readonly name: string
  readonly subscription: SubscriptionRecord
  private readonly clients: NodeClients
  private readonly random: Random
  private readonly options: ConsumerOptions
  /** The latest pushed entry of each log index (its batch is what the oracles judge). */
  private readonly pushed = new Map<number, DeliveredEntry>()
  private client: Client | null = null
  private consumer: Consumer | null = null
  private subscribing = false
  /** The index of the batch being processed: its later messages take no processing time of their own. */
  private processingIndex = -1
  private lastPushFrom: NodeId | null = null
  subscribedOnce = false

  constructor (name: string, subscription: SubscriptionRecord, clients: NodeClients, random: Random, options: ConsumerOptions) {
    this.name = name
    this.subscription = subscription
    this.clients = clients
    this.random = random
    this.options = options
  }

  /** The node that pushed messages to this consumer last. */
  get connectedTo (): NodeId | null {
    return this.lastPushFrom
  }

  start (): void {
    this.subscribe()
  }

  /** Creates the client (first time) and subscribes; a failure is tried again after a pause. */
  private subscribe (): void {
    if (this.subscribing || this.consumer !== null) return
    this.subscribing = true
    const { clients, options } = this
    const subscribe = async (): Promise<Consumer> => {
      this.client ??= await createSimClient(clients.world, {
        name: `client-${this.name}`,
        random: this.random,
        operationTimeoutMs: options.subscribeTimeoutMs,
        observe: (node, body, outcome) => {
          outcome.then((raw) => { checkedReply(clients, this.name, node, body as ClientRequestBody, raw) }, () => {})
        },
        observePush: (node, body) => { this.observePush(node, body) }
      })
      return await this.client.subscribe({
        topic: clients.topic, subscription: this.subscription.name, subscriptionType: this.subscription.type, consumerName: this.name,
        subscriptionInitialPosition: 'Earliest', receiverQueueSize: options.receiverQueue, negativeAckRedeliveryDelayMs: NODE_NACK_REDELIVERY_DELAY_MS
      })
    }
    clients.record(`subscribe ${this.name}`)
    subscribe().then((consumer) => {
      this.subscribing = false
      this.consumer = consumer
      this.subscribedOnce = true
      clients.record(`subscribed ${this.name}`)
      this.receiveNext(consumer)
      this.restartLater(consumer)
    }, (error: unknown) => {
      this.subscribing = false
      clients.record(`subscribe ${this.name} failed: ${codeOf(error)}`)
      const [min, max] = options.retryBackoffMs
      clients.clock.setTimer(this.random.int(min, max), () => { this.subscribe() })
    })
  }

  private observePush (node: NodeId, body: unknown): void {
    const push = parseServerPush(body)
    if (push.type !== 'messages') return
    this.lastPushFrom = node
    for (const entry of push.entries) this.pushed.set(entry.messageId.index, entry)
  }

  private receiveNext (consumer: Consumer): void {
    consumer.receive().then((message) => {
      const index = message.messageId.index
      const entry = this.pushed.get(index)
      if (entry === undefined) {
        this.clients.oracles.report('queue-phantom-message', `${this.name} received ${message.messageId.toString()}, which no push carried`)
        return
      }
      this.clients.record(`recv ${this.name} ${index}:${message.messageId.batchIndex} ${entry.batch.producerName}#${entry.batch.firstSequenceId} r${message.redeliveryCount}`)
      this.clients.oracles.delivered(this.subscription, this.name, entry)
      const [min, max] = this.options.processMs
      const delay = index === this.processingIndex ? 0 : this.random.int(min, max)
      this.processingIndex = index
      this.clients.clock.setTimer(delay, () => {
        if (consumer !== this.consumer) return // restarted meanwhile: the message is redelivered
        this.settle(consumer, message, entry.batch.messageCount)
        this.receiveNext(consumer)
      })
    }, (error: unknown) => {
      this.clients.record(`receive ${this.name} ended: ${codeOf(error)}`)
    })
  }

  /** After a while, closes the consumer (its acks are sent first) and subscribes a new one. */
  private restartLater (consumer: Consumer): void {
    const [min, max] = NODE_CONSUMER_RESTART_MS
    this.clients.clock.setTimer(this.random.int(min, max), () => {
      this.clients.record(`close ${this.name}`)
      this.processingIndex = -1
      this.consumer = null
      consumer.close().catch(() => {}).finally(() => {
        this.clients.record(`closed ${this.name}`)
        this.subscribe()
      })
    })
  }

  private settle (consumer: Consumer, message: Message, messageCount: number): void {
    const { index, batchIndex } = message.messageId
    const at = `${index}:${batchIndex}`
    const draw = this.random.next()
    if (draw < this.options.negativeAckRatio) {
      this.clients.record(`nack ${this.name} ${at}`)
      consumer.negativeAcknowledge(message)
    } else if (this.subscription.type === 'Exclusive' && draw < this.options.negativeAckRatio + this.options.cumulativeAckRatio) {
      this.clients.record(`ack-cumulative ${this.name} ${at}`)
      // Every batch before the message's is acknowledged, and its batch up to the message.
      this.subscription.cumulativeTo = Math.max(this.subscription.cumulativeTo, index - 1)
      this.clients.oracles.messagesAcknowledged(this.subscription, index, Array.from({ length: batchIndex + 1 }, (_, i) => i), messageCount)
      consumer.acknowledgeCumulative(message).catch(() => {})
    } else {
      this.clients.record(`ack ${this.name} ${at}`)
      this.clients.oracles.messagesAcknowledged(this.subscription, index, [batchIndex], messageCount)
      consumer.acknowledge(message).catch(() => {})
    }
  }
}
