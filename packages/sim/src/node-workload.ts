// The node workload's clients: an admin client that (on some seeds) turns deduplication on for
// namespace public/default and creates the topic, an Exclusive subscription with one consumer,
// a Shared one with two, a Key_Shared one with two, and producers (the production client,
// sends keyed k0..k3) that start once every subscription exists; all of them
// talk to any node through the production gateway. drained() and finalCheck() are the
// recovery phase's queue checks, read from the partition's leader.
import type { Admin, ClientFaults } from '@blazar/client'
import type { NodeId, SeededRandom } from '@blazar/env'
import { defaultBrokerWorkload, EXCLUSIVE_SUBSCRIPTION, SHARED_SUBSCRIPTION, type BrokerWorkloadOptions } from './broker-workload.ts'
import { codeOf, createSimClient } from './node-client-transport.ts'
import type { NodeClients } from './node-clients.ts'
import { NodeConsumer } from './node-consumer.ts'
import { NodeProducer } from './node-producer.ts'
import type { NodeWorld } from './node-world.ts'
import type { InvariantName } from './oracles.ts'
import type { QueueOracles } from './queue-oracles.ts'

export const NODE_TOPIC = 'persistent://public/default/sim-node'
export const NODE_NAMESPACE = 'public/default'
/** Pause between two attempts of an admin request, ms. */
export const ADMIN_RETRY_MS = 200
/** An admin request not answered within this is tried again, ms (the admin client's operation timeout). */
export const ADMIN_TIMEOUT_MS = 3_000
/** Sends each producer keeps open at once, like a production client's pipeline (it allows 64 batches). */
export const NODE_PRODUCER_IN_FLIGHT_SENDS = 8
/** Keys the producers' sends carry (per-key order on the Key_Shared subscription). */
export const NODE_KEYS = 4
export const KEY_SHARED_SUBSCRIPTION = 'key-shared-sub'
/** Consumers of the Key_Shared subscription. */
export const KEY_SHARED_CONSUMERS = 2

export class NodeWorkload {
  readonly oracles: QueueOracles
  readonly deduplication: boolean
  private readonly world: NodeWorld
  private readonly random: SeededRandom
  private readonly clients: NodeClients
  private admin: Promise<Admin> | null = null
  private readonly producers: NodeProducer[] = []
  private readonly consumers: NodeConsumer[] = []
  private topicReady = false
  private running = false

  constructor (options: { world: NodeWorld, oracles: QueueOracles, random: SeededRandom, workload?: BrokerWorkloadOptions, record: (line: string) => void, clientFaults?: ClientFaults }) {
    this.world = options.world
    this.oracles = options.oracles
    this.random = options.random
    const workload = options.workload ?? defaultBrokerWorkload
    this.deduplication = this.random.chance(workload.deduplicationRatio)
    this.clients = {
      clock: this.world.clock,
      world: this.world,
      oracles: this.oracles,
      topic: NODE_TOPIC,
      record: options.record
    }
    const exclusive = this.oracles.subscription(EXCLUSIVE_SUBSCRIPTION, 'Exclusive')
    const shared = this.oracles.subscription(SHARED_SUBSCRIPTION, 'Shared')
    this.consumers.push(new NodeConsumer('ex-1', exclusive, this.clients, this.random.fork(), workload.consumer))
    for (let i = 1; i <= workload.sharedConsumers; i++) this.consumers.push(new NodeConsumer(`sh-${i}`, shared, this.clients, this.random.fork(), workload.consumer))
    const keyShared = this.oracles.subscription(KEY_SHARED_SUBSCRIPTION, 'Key_Shared')
    for (let i = 1; i <= KEY_SHARED_CONSUMERS; i++) this.consumers.push(new NodeConsumer(`ks-${i}`, keyShared, this.clients, this.random.fork(), workload.consumer))
    const producer = { maxInFlightSends: NODE_PRODUCER_IN_FLIGHT_SENDS, keys: NODE_KEYS, ...workload.producer }
    for (let i = 1; i <= workload.producers; i++) this.producers.push(new NodeProducer(`p${i}`, this.clients, this.random.fork(), producer, options.clientFaults))
  }

  /** Sets the namespace up, creates the topic, subscribes the consumers, then starts the producers. */
  start (): void {
    if (this.running) return
    this.running = true
    this.clients.record(`node workload dedup=${this.deduplication ? 'on' : 'off'}`)
    const createTopic = (): void => {
      this.adminRequest('create-topic', async (admin) => { await admin.topics.create(NODE_TOPIC) }, ['TOPIC_ALREADY_EXISTS'], () => {
        this.topicReady = true
        for (const consumer of this.consumers) consumer.start()
        this.startProducersWhenReady()
      })
    }
    if (this.deduplication) this.adminRequest('set-deduplication', async (admin) => { await admin.namespaces.setPolicies(NODE_NAMESPACE, { deduplication: true }) }, [], createTopic)
    else createTopic()
  }

  stop (): void {
    this.running = false
    for (const producer of this.producers) producer.stop()
  }

  get sendsInFlight (): number {
    return this.producers.filter((producer) => producer.busy).length
  }

  /** Everything stored is delivered to every subscription and acknowledged in the leader's cursors. */
  drained (leader: NodeId | null): boolean {
    if (!this.topicReady || this.sendsInFlight > 0 || !this.oracles.allDelivered()) return false
    const partition = leader === null ? undefined : this.world.partitionOn(leader, NODE_TOPIC)
    if (partition === undefined) return false
    for (const subscription of this.oracles.subscriptions.keys()) {
      if (partition.sm.cursor(subscription) === undefined || partition.sm.backlog(subscription) > 0) return false
    }
    return true
  }

  finalCheck (leader: NodeId | null): [InvariantName, string] | null {
    if (!this.topicReady) return ['queue-liveness', 'the topic was never created']
    const partition = leader === null ? undefined : this.world.partitionOn(leader, NODE_TOPIC)
    if (partition === undefined) return ['queue-liveness', 'no leader to read the final cursors from']
    return this.oracles.finalCheck((subscription) => partition.sm.cursor(subscription))
  }

  describeConsumers (): string {
    return this.consumers.map((consumer) => `${consumer.name}@${consumer.connectedTo ?? '-'}`).join(' ')
  }

  private startProducersWhenReady (): void {
    if (!this.running) return
    if (this.consumers.every((consumer) => consumer.subscribedOnce)) {
      this.clients.record('node producers start')
      for (const producer of this.producers) producer.start()
      return
    }
    this.world.clock.setTimer(50, () => this.startProducersWhenReady())
  }

  /** Runs an admin call (the production client's Admin) until it succeeds or fails with one of `accepted`, then `done`. */
  adminRequest (what: string, call: (admin: Admin) => Promise<void>, accepted: string[], done: () => void): void {
    this.admin ??= createSimClient(this.world, { name: 'client-admin', random: this.random, operationTimeoutMs: ADMIN_TIMEOUT_MS }).then((client) => client.admin, (error: unknown) => {
      this.admin = null
      throw error
    })
    this.admin.then(call).then(() => {
      this.clients.record(`admin ${what} done`)
      done()
    }, (error: unknown) => {
      const code = codeOf(error)
      if (accepted.includes(code)) {
        this.clients.record(`admin ${what} done: ${code}`)
        done()
        return
      }
      this.clients.record(`admin ${what}: ${code}`)
      this.world.clock.setTimer(ADMIN_RETRY_MS, () => { this.adminRequest(what, call, accepted, done) })
    })
  }
}
