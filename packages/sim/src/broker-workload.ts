// The broker workload: one partition whose Raft group runs PartitionStateMachine, a
// PartitionReplica per node (broker-host.ts), simulated producers and consumers (an Exclusive
// subscription with one consumer, a Shared one with two), and the queue oracles. start()
// optionally turns deduplication on (a replicated config entry), subscribes the consumers and
// starts the producers once both subscriptions exist. drain() is the recovery-phase liveness
// check: after healing, every send settles and everything stored is delivered to and
// acknowledged by every subscription within a bound. Optional: a dead-letter policy for the
// Shared consumers (dead-letter-oracle.ts) and seeks by the Exclusive one.
import type { NodeId, Random, SeededRandom } from '@blazar/env'
import { DEFAULT_PARTITION_CONFIG, encodePartitionEntry } from '@blazar/protocol'
import type { Cluster } from './cluster.ts'
import { Consumer, type BrokerClients, type ConsumerOptions } from './broker-consumer.ts'
import { DeadLetterTopic, type SimDeadLetterPolicy } from './dead-letter-oracle.ts'
import { BROKER_TOPIC, type BrokerHost } from './broker-host.ts'
import { Producer, type ProducerOptions } from './broker-producer.ts'
import type { InvariantName } from './oracles.ts'
import type { QueueOracles } from './queue-oracles.ts'

export interface BrokerWorkloadOptions {
  producers: number
  producer: ProducerOptions
  consumer: ConsumerOptions
  /** Consumers of the Shared subscription (the Exclusive one has one). */
  sharedConsumers: number
  /** Share of seeds that run with deduplication on. */
  deduplicationRatio: number
  /** How often the leader proposes retention trims (Pulsar: 120 s). */
  retentionCheckIntervalMs: number
  /** The Shared consumers' dead-letter policy (`broker-dead-letter`); none by default. */
  deadLetterPolicy?: SimDeadLetterPolicy
  /** The Exclusive consumer seeks back every [min, max) ms (`broker-seek`); never by default. */
  seekIntervalMs?: [number, number]
}

export const defaultBrokerWorkload: BrokerWorkloadOptions = {
  producers: 3,
  producer: { maxBatchMessages: 4, thinkMs: [20, 300], attemptTimeoutMs: 1_500, sendTimeoutMs: 8_000, retryBackoffMs: [20, 200] },
  consumer: {
    receiverQueue: 20, processMs: [1, 60], subscribeTimeoutMs: 3_000, retryBackoffMs: [20, 300], cumulativeAckRatio: 0.3, negativeAckRatio: 0.03
  },
  sharedConsumers: 2,
  deduplicationRatio: 0.5,
  retentionCheckIntervalMs: 5_000
}

export const EXCLUSIVE_SUBSCRIPTION = 'exclusive-sub'
export const SHARED_SUBSCRIPTION = 'shared-sub'

export class BrokerWorkload {
  readonly host: BrokerHost
  readonly oracles: QueueOracles
  readonly deduplication: boolean
  /** The dead-letter topic of the Shared consumers, when they have a policy. */
  deadLetters: DeadLetterTopic | null
  private readonly cluster: Cluster
  private readonly random: SeededRandom
  private readonly options: BrokerWorkloadOptions
  private readonly producers: Producer[] = []
  private readonly consumers: Consumer[] = []
  private readonly clients: BrokerClients
  private configured = false
  private running = false

  constructor (options: {
    host: BrokerHost, oracles: QueueOracles, cluster: Cluster, random: SeededRandom, workload: BrokerWorkloadOptions
  }) {
    this.host = options.host
    this.oracles = options.oracles
    this.cluster = options.cluster
    this.random = options.random
    this.options = options.workload
    this.deduplication = this.random.chance(this.options.deduplicationRatio)
    let consumerIds = 0
    this.clients = {
      clock: this.cluster.clock,
      host: this.host,
      oracles: this.oracles,
      record: (line) => this.cluster.record(line),
      anyNode: (random: Random) => {
        const ids = this.cluster.ids()
        return ids[random.int(0, ids.length)]
      },
      isNode: (id) => this.cluster.nodes.has(id),
      nextConsumerId: () => ++consumerIds
    }
    const exclusive = this.oracles.subscription(EXCLUSIVE_SUBSCRIPTION, 'Exclusive')
    const shared = this.oracles.subscription(SHARED_SUBSCRIPTION, 'Shared')
    const policy = this.options.deadLetterPolicy
    this.deadLetters = null
    const seekIntervalMs = this.options.seekIntervalMs
    if (seekIntervalMs !== undefined) this.oracles.allowSeeks(EXCLUSIVE_SUBSCRIPTION)
    this.consumers.push(new Consumer('ex-1', exclusive, this.clients, this.random.fork(), this.options.consumer, seekIntervalMs === undefined ? {} : { seekIntervalMs }))
    for (let i = 1; i <= this.options.sharedConsumers; i++) {
      this.consumers.push(new Consumer(`sh-${i}`, shared, this.clients, this.random.fork(), this.options.consumer))
    }
    for (let i = 1; i <= this.options.producers; i++) {
      this.producers.push(new Producer(`p${i}`, this.clients, this.random.fork(), this.options.producer))
    }
    if (policy !== undefined) {
      // Forked after the others, so the consumers' and producers' streams stay as they were.
      const deadLetters = new DeadLetterTopic({
        policy, report: this.oracles.report, clock: this.cluster.clock, random: this.random.fork(), record: (line) => this.cluster.record(line), originTopic: BROKER_TOPIC
      })
      this.deadLetters = deadLetters
      this.host.deadLetterSink = deadLetters
      for (const consumer of this.consumers) if (consumer.subscription === shared) consumer.useDeadLetters(deadLetters)
    }
    this.host.onConnectionsLost = (node) => {
      for (const consumer of this.consumers) consumer.connectionLost(node)
    }
  }

  /** Configures the partition, subscribes every consumer, then starts the producers. */
  start (): void {
    if (this.running) return
    this.running = true
    this.cluster.record(`broker workload dedup=${this.deduplication ? 'on' : 'off'}`)
    if (this.deduplication) this.configure()
    else this.configured = true
    for (const consumer of this.consumers) consumer.start()
    this.host.startSampling()
    this.startProducersWhenReady()
  }

  /** Producers send nothing new and consumers seek no more; consumers carry on. */
  stop (): void {
    this.running = false
    for (const producer of this.producers) producer.stop()
    for (const consumer of this.consumers) consumer.stopSeeking()
  }

  /** Sends not settled yet. */
  get sendsInFlight (): number {
    return this.producers.filter((producer) => producer.busy).length
  }

  /** Everything stored is delivered to every subscription and acknowledged in the leader's cursor. */
  drained (leader: NodeId | null): boolean {
    if (this.sendsInFlight > 0 || !this.oracles.allDelivered()) return false
    const partition = leader === null ? undefined : this.host.partition(leader)
    if (partition === undefined) return false
    for (const subscription of this.oracles.subscriptions.keys()) {
      if (partition.sm.cursor(subscription) === undefined || partition.sm.backlog(subscription) > 0) return false
    }
    // Every dead letter forwarded and trimmed from the outbox.
    return partition.sm.deadLetterOutbox().length === 0
  }

  /** The final queue checks against the leader's cursors; [invariant, message] or null. */
  finalCheck (leader: NodeId | null): [InvariantName, string] | null {
    const partition = leader === null ? undefined : this.host.partition(leader)
    if (partition === undefined) return ['queue-liveness', 'no leader to read the final cursors from']
    if (this.deadLetters !== null) this.cluster.record(`dead-letter topic: ${this.deadLetters.size} messages, ${this.deadLetters.duplicates} resends dropped by deduplication`)
    return this.oracles.finalCheck((subscription) => partition.sm.cursor(subscription)) ?? this.deadLetters?.finalCheck(this.oracles, SHARED_SUBSCRIPTION) ?? null
  }

  describeConsumers (): string {
    return this.consumers.map((consumer) => `${consumer.name}@${consumer.connectedTo ?? '-'}`).join(' ')
  }

  private startProducersWhenReady (): void {
    if (!this.running) return
    if (this.configured && this.consumers.every((consumer) => consumer.subscribedOnce)) {
      this.cluster.record('broker producers start')
      for (const producer of this.producers) producer.start()
      return
    }
    this.cluster.clock.setTimer(50, () => this.startProducersWhenReady())
  }

  /** Proposes the deduplication config through whichever node leads, until it commits. */
  private configure (): void {
    const { kind, data } = encodePartitionEntry({ kind: 'config', body: { ...DEFAULT_PARTITION_CONFIG, deduplication: true } })
    const target = this.cluster.leader() ?? this.clients.anyNode(this.random)
    this.host.request(target, (partition) => partition.raft.propose(data, kind)).then((index) => {
      this.cluster.record(`broker config committed at ${index}`)
      this.configured = true
    }, () => {
      this.cluster.clock.setTimer(100, () => this.configure())
    })
  }
}
