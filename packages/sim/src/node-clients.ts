// The node workload's simulated consumers and admin client, speaking the client protocol
// (packages/protocol client-messages) to any node over simulated connections, so every request
// goes through the production gateway and, from a node that does not lead the partition, its
// forwarding (the producers are the production client: node-producer.ts). A client keeps one
// connection per node (opened on first use, forgotten when it closes) and tells its owner about
// pushes and closes. The consumer follows the broker workload's (broker-consumer.ts): it
// subscribes where it believes the leader is, grants permits,
// acknowledges (individually, cumulatively) or negatively acknowledges, and subscribes again
// when its consumer is closed or its connection drops, also when the consumer-closed push
// overtook its subscribe's answer (in the simulator an event can run between the gateway's
// answer and the connection's write of it).
import type { NodeId, Random, VirtualClock } from '@blazar/env'
import { parseServerPush, type ClientReply, type ClientRequestBody, type DeliveredEntry, type ServerPush, type SubscriptionType } from '@blazar/protocol'
import type { ConsumerOptions } from './broker-consumer.ts'
import type { SimClientEnd } from './node-connections.ts'
import type { NodeWorld } from './node-world.ts'
import type { QueueOracles } from './queue-oracles.ts'
import type { SubscriptionRecord } from './queue-records.ts'

/** What the simulated clients share. */
export interface NodeClients {
  clock: VirtualClock
  world: NodeWorld
  oracles: QueueOracles
  topic: string
  record: (line: string) => void
  anyNode: (random: Random) => NodeId
}

/** One client's connections, one per node. */
export class ClientLinks {
  private readonly clients: NodeClients
  private readonly name: string
  private readonly links = new Map<NodeId, Promise<SimClientEnd>>()
  private readonly onPush: (node: NodeId, push: ServerPush) => void
  private readonly onClosed: (node: NodeId) => void

  constructor (clients: NodeClients, name: string, onPush: (node: NodeId, push: ServerPush) => void, onClosed: (node: NodeId) => void) {
    this.clients = clients
    this.name = name
    this.onPush = onPush
    this.onClosed = onClosed
  }

  /** The open connection to `node`, connecting if there is none. */
  async link (node: NodeId): Promise<SimClientEnd> {
    let opening = this.links.get(node)
    if (opening === undefined) {
      opening = this.clients.world.connect({ id: this.name, runtime: null }, node)
      const dialled = opening
      this.links.set(node, dialled)
      dialled.then((end) => {
        end.grantPermits(1_000_000)
        end.onPush((body) => { this.onPush(node, parseServerPush(body)) })
        end.onClose(() => {
          if (this.links.get(node) === dialled) this.links.delete(node)
          this.onClosed(node)
        })
      }, () => { if (this.links.get(node) === dialled) this.links.delete(node) })
    }
    return await opening
  }

  /** Sends a request on the connection to `node`. */
  async request (node: NodeId, body: ClientRequestBody): Promise<ClientReply> {
    const end = await this.link(node)
    return await end.request(body) as ClientReply
  }

  /** The connection to `node` open or being opened, if any (undefined: it closed). */
  current (node: NodeId): Promise<SimClientEnd> | undefined {
    return this.links.get(node)
  }
}

/**
 * The workload's clients start only once its topic exists, and it exists to the end: a node
 * answering UNKNOWN_TOPIC for it said "no such topic" when it could not tell (issue 15, bug 4).
 */
export function checkTopicKnown (clients: NodeClients, who: string, node: NodeId, code: string): void {
  if (code === 'UNKNOWN_TOPIC') clients.oracles.report('queue-unknown-topic', `${who} was told by ${node} that ${clients.topic}, which exists, is unknown`)
}

function leaderHintOf (reply: ClientReply, world: NodeWorld): NodeId | null {
  if (reply.ok) return null
  const hint = (reply.error.details as { leaderHint?: unknown } | undefined)?.leaderHint
  return typeof hint === 'string' && world.processes.has(hint) ? hint : null
}

interface ConsumerSession {
  consumerId: number
  node: NodeId
  processedSinceFlow: number
}

export class NodeConsumer {
  readonly name: string
  readonly subscription: SubscriptionRecord
  private readonly type: SubscriptionType
  private readonly clients: NodeClients
  private readonly random: Random
  private readonly options: ConsumerOptions
  private readonly links: ClientLinks
  private session: ConsumerSession | null = null
  /** The consumer id of the subscribe in flight, if any. */
  private subscribing: number | null = null
  /** A consumer-closed push that arrived for the subscribe in flight (before its answer). */
  private closedWhileSubscribing: number | null = null
  private nextConsumerId = 0
  private leaderHint: NodeId | null = null
  private readonly inbox: DeliveredEntry[] = []
  private processing = false
  subscribedOnce = false

  constructor (name: string, subscription: SubscriptionRecord, clients: NodeClients, random: Random, options: ConsumerOptions) {
    this.name = name
    this.subscription = subscription
    this.type = subscription.type
    this.clients = clients
    this.random = random
    this.options = options
    this.links = new ClientLinks(clients, `client-${name}`, (node, push) => this.pushed(node, push), (node) => {
      if (this.session?.node === node) this.sessionEnded('connection closed')
    })
  }

  get connectedTo (): NodeId | null {
    return this.session?.node ?? null
  }

  start (): void {
    this.subscribe()
  }

  private subscribe (): void {
    if (this.subscribing !== null || this.session !== null) return
    const clients = this.clients
    const consumerId = ++this.nextConsumerId
    this.subscribing = consumerId
    const target = this.leaderHint ?? clients.anyNode(this.random)
    clients.record(`subscribe ${this.name} c${consumerId} @${target}`)
    let answered = false
    const timer = clients.clock.setTimer(this.options.subscribeTimeoutMs, () => {
      if (answered) return
      answered = true
      clients.record(`subscribe ${this.name} c${consumerId} timeout`)
      this.abandon(consumerId, target)
      this.leaderHint = null
      this.retrySubscribe()
    })
    const settle = (outcome: () => void): void => {
      if (answered) return
      answered = true
      clients.clock.clearTimer(timer)
      outcome()
    }
    this.links.request(target, {
      type: 'subscribe', topic: clients.topic, subscription: this.subscription.name, consumerId, consumerName: this.name,
      subscriptionType: this.type, initialPosition: 'Earliest', durable: true
    }).then((reply) => settle(() => {
      if (reply.ok && this.closedWhileSubscribing === consumerId) {
        clients.record(`subscribe ${this.name} c${consumerId} answered after its close`)
        this.retrySubscribe()
        return
      }
      if (reply.ok) {
        this.subscribing = null
        this.subscribedOnce = true
        this.leaderHint = target
        this.session = { consumerId, node: target, processedSinceFlow: 0 }
        clients.record(`subscribed ${this.name} c${consumerId} @${target}`)
        this.call({ type: 'flow', consumerId, permits: this.options.receiverQueue })
        return
      }
      checkTopicKnown(clients, this.name, target, reply.error.code)
      this.leaderHint = leaderHintOf(reply, clients.world)
      clients.record(`subscribe ${this.name} c${consumerId} ${reply.error.code}${this.leaderHint === null ? '' : ` -> ${this.leaderHint}`}`)
      this.retrySubscribe()
    }), (error: unknown) => settle(() => {
      clients.record(`subscribe ${this.name} c${consumerId} ${(error as { code?: string } | null)?.code ?? 'ERROR'}`)
      this.leaderHint = null
      this.abandon(consumerId, target)
      this.retrySubscribe()
    }))
  }

  private retrySubscribe (): void {
    this.subscribing = null
    const [min, max] = this.options.retryBackoffMs
    this.clients.clock.setTimer(this.random.int(min, max), () => this.subscribe())
  }

  /** Gives up on a consumer id: its pushes are ignored and the node is told to close it. */
  private abandon (consumerId: number, node: NodeId): void {
    if (this.links.current(node) === undefined) return
    this.links.request(node, { type: 'close-consumer', consumerId }).catch(() => {})
  }

  private sessionEnded (why: string): void {
    const session = this.session
    if (session === null) return
    this.clients.record(`session ${this.name} c${session.consumerId} ended: ${why}`)
    this.session = null
    this.inbox.length = 0
    this.leaderHint = null
    this.retrySubscribe()
  }

  private pushed (node: NodeId, push: ServerPush): void {
    const session = this.session
    if (push.type !== 'messages' && push.type !== 'consumer-closed') return
    if (push.type === 'consumer-closed' && push.consumerId === this.subscribing) {
      // The close overtook the subscribe's answer: the answer, when it comes, is already void.
      this.closedWhileSubscribing = push.consumerId
      this.clients.record(`consumer-closed to ${this.name} c${push.consumerId} from ${node} before its subscribe answer`)
      return
    }
    if (session === null || session.node !== node || session.consumerId !== push.consumerId) {
      this.clients.record(`stale ${push.type} to ${this.name} c${push.consumerId} from ${node}`)
      return
    }
    if (push.type === 'consumer-closed') {
      this.sessionEnded(`closed by ${node}: ${push.reason}`)
      return
    }
    for (const entry of push.entries) {
      this.clients.record(`recv ${this.name} c${session.consumerId} ${entry.messageId.index} ${entry.batch.producerName}#${entry.batch.firstSequenceId} r${entry.redeliveryCount}`)
      this.clients.oracles.delivered(this.subscription, this.name, entry)
      this.inbox.push(entry)
    }
    this.processNext()
  }

  private processNext (): void {
    if (this.processing || this.inbox.length === 0) return
    this.processing = true
    const [min, max] = this.options.processMs
    this.clients.clock.setTimer(this.random.int(min, max), () => {
      this.processing = false
      const entry = this.inbox.shift()
      const session = this.session
      if (entry !== undefined && session !== null) this.settle(session, entry)
      this.processNext()
    })
  }

  private settle (session: ConsumerSession, entry: DeliveredEntry): void {
    const { index, partition } = entry.messageId
    const count = entry.batch.messageCount
    const consumerId = session.consumerId
    const draw = this.random.next()
    if (draw < this.options.negativeAckRatio) {
      this.clients.record(`nack ${this.name} c${consumerId} ${index}`)
      this.call({ type: 'redeliver', consumerId, ...(this.type === 'Shared' || this.type === 'Key_Shared' ? { messageIds: [entry.messageId] } : {}) })
    } else if (this.type === 'Exclusive' && draw < this.options.negativeAckRatio + this.options.cumulativeAckRatio) {
      this.clients.record(`ack-cumulative ${this.name} c${consumerId} ${index}`)
      this.subscription.cumulativeTo = Math.max(this.subscription.cumulativeTo, index)
      this.call({ type: 'ack', consumerId, ackType: 'Cumulative', messageIds: [{ partition, index, batchIndex: count - 1 }] })
    } else {
      this.clients.record(`ack ${this.name} c${consumerId} ${index}`)
      this.subscription.acked.add(index)
      const messageIds = Array.from({ length: count }, (_, batchIndex) => ({ partition, index, batchIndex }))
      this.call({ type: 'ack', consumerId, ackType: 'Individual', messageIds })
    }
    session.processedSinceFlow += count
    if (session.processedSinceFlow >= this.options.receiverQueue / 2) {
      const permits = session.processedSinceFlow
      session.processedSinceFlow = 0
      this.call({ type: 'flow', consumerId, permits })
    }
  }

  /** A fire-and-forget request on the current session (acks, flow, redeliver). */
  private call (body: ClientRequestBody): void {
    const session = this.session
    if (session === null) return
    this.links.request(session.node, body).catch(() => {})
  }
}
