// NATS JetStream behind the workloads' MessagingTarget, with the `nats` npm client: a topic of
// N partitions is N streams (each its own Raft group), R3, file storage; sends go round robin
// over them. One connection per server; each stream's traffic uses the connection to its
// leader's server ("client on the leader") or to a replica that does not lead it. Two publish
// paths: `js.publish` (the client's API, one request object per message) and a core publish
// with a reply subject, PubAcks counted on one wildcard subscription (the fastest way the
// client offers to have many publishes in flight). Consume + ack: a durable pull consumer per
// stream, explicit acks, 1,000 messages per pull.
import { AckPolicy, connect, createInbox, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type Consumer, type ConsumerMessages, type NatsConnection, type Subscription } from 'nats'
import type { NatsCluster } from './nats-server.ts'
import type { ClientPlacement } from './blazar-target.ts'
import type { MessagingTarget, Publisher, TopicConsumer } from './workloads.ts'

const JS_PUBLISH = 'js.publish'
const CORE_PUBLISH = 'core publish + reply'
const REPLICAS = 3
const CONSUMER = 'bench'
/** Messages per pull request of the consume workload. */
const PULL_BATCH = 1000
/** Unacknowledged messages a consumer may have out (above the pull batch). */
const MAX_ACK_PENDING = 20_000
const REQUEST_TIMEOUT_MS = 10_000
const STREAM_CREATE_ATTEMPTS = 20
const STREAM_CREATE_RETRY_MS = 500
/** How often the core publisher fails sends whose PubAck has not come within REQUEST_TIMEOUT_MS. */
const PUBACK_WATCHDOG_MS = 1000

interface Stream {
  name: string
  subject: string
  /** The connection its traffic uses. */
  connection: NatsConnection
}

/** Creates the stream; right after start the JetStream meta leader may still be settling, so it retries (bounded). */
async function createStream (admin: NatsConnection, name: string, subject: string): Promise<void> {
  const jsm = await admin.jetstreamManager()
  for (let attempt = 1; ; attempt++) {
    try {
      await jsm.streams.add({ name, subjects: [subject], storage: StorageType.File, num_replicas: REPLICAS, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old })
      return
    } catch (error) {
      if (attempt >= STREAM_CREATE_ATTEMPTS) throw error
      await new Promise((resolve) => { setTimeout(resolve, STREAM_CREATE_RETRY_MS) })
    }
  }
}

/**
 * Publishes with a reply subject per message; one wildcard subscription settles them, and a
 * watchdog fails those without a PubAck after REQUEST_TIMEOUT_MS (as js.publish would), so a
 * send never waits forever.
 */
function corePublisher (streams: readonly Stream[]): Publisher {
  const waiting = new Map<string, { sentAt: number, resolve: () => void, reject: (error: Error) => void }>()
  const watchdog = setInterval(() => {
    const expired = performance.now() - REQUEST_TIMEOUT_MS
    // A Map iterates in insertion order, i.e. in send order: stop at the first one still in time.
    for (const [reply, settle] of waiting) {
      if (settle.sentAt > expired) break
      waiting.delete(reply)
      settle.reject(new Error(`no PubAck for ${reply} within ${REQUEST_TIMEOUT_MS} ms`))
    }
  }, PUBACK_WATCHDOG_MS)
  watchdog.unref()
  const inboxes = new Map<NatsConnection, string>()
  const subscriptions: Subscription[] = []
  for (const connection of new Set(streams.map((stream) => stream.connection))) {
    const inbox = createInbox()
    inboxes.set(connection, inbox)
    subscriptions.push(connection.subscribe(`${inbox}.*`, {
      callback: (error, message) => {
        const settle = waiting.get(message.subject)
        if (settle === undefined) return
        waiting.delete(message.subject)
        if (error !== null) settle.reject(error)
        else if (new TextDecoder().decode(message.data).includes('"error"')) settle.reject(new Error(`PubAck error: ${new TextDecoder().decode(message.data)}`))
        else settle.resolve()
      }
    }))
  }
  let next = 0
  return {
    send: async (payload) => {
      const stream = streams[next++ % streams.length]
      const reply = `${inboxes.get(stream.connection)}.${next}`
      await new Promise<void>((resolve, reject) => {
        waiting.set(reply, { sentAt: performance.now(), resolve, reject })
        stream.connection.publish(stream.subject, payload, { reply })
      })
    },
    close: async () => {
      clearInterval(watchdog)
      for (const subscription of subscriptions) subscription.unsubscribe()
    }
  }
}

function jsPublisher (streams: readonly Stream[]): Publisher {
  const clients = new Map(streams.map((stream) => [stream.connection, stream.connection.jetstream({ timeout: REQUEST_TIMEOUT_MS })]))
  let next = 0
  return {
    send: async (payload) => {
      const stream = streams[next++ % streams.length]
      const ack = await clients.get(stream.connection)?.publish(stream.subject, payload)
      if (ack === undefined || ack.seq <= 0) throw new Error(`no PubAck for ${stream.subject}`)
    },
    close: async () => {}
  }
}

/** A durable pull consumer on every stream, created before the measurement. */
async function openStreamConsumers (streams: readonly Stream[]): Promise<TopicConsumer> {
  const consumers: Consumer[] = []
  for (const stream of streams) {
    const jsm = await stream.connection.jetstreamManager()
    await jsm.consumers.add(stream.name, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: MAX_ACK_PENDING })
    consumers.push(await stream.connection.jetstream({ timeout: REQUEST_TIMEOUT_MS }).consumers.get(stream.name, CONSUMER))
  }
  return {
    consume: async (count, deadline) => await consumeStreams(streams, consumers, count, deadline),
    close: async () => {}
  }
}

/** Pull-consumes every stream at once until `count` messages in all arrived or `deadline`. */
async function consumeStreams (streams: readonly Stream[], consumers: readonly Consumer[], count: number, deadline: number): Promise<number> {
  const iterators: ConsumerMessages[] = []
  for (const consumer of consumers) iterators.push(await consumer.consume({ max_messages: PULL_BATCH }))
  let received = 0
  // stop() ends each iteration; awaiting close() after a break can hang in nats.js 2.29 against server 2.9.
  const stopAll = (): void => { for (const iterator of iterators) iterator.stop() }
  const timer = setTimeout(stopAll, Math.max(0, deadline - performance.now()))
  try {
    await Promise.all(iterators.map(async (iterator) => {
      for await (const message of iterator) {
        message.ack()
        if (++received >= count) {
          stopAll()
          break
        }
      }
    }))
  } finally {
    clearTimeout(timer)
  }
  await Promise.all([...new Set(streams.map((stream) => stream.connection))].map(async (connection) => { await connection.flush() }))
  return Math.min(received, count)
}

export async function openNatsTopic (cluster: NatsCluster, options: { name: string, partitions: number, clientOn: ClientPlacement }): Promise<MessagingTarget & { leaderNode: number }> {
  const connections = new Map<string, NatsConnection>()
  const closeAll = async (): Promise<void> => { await Promise.all([...connections.values()].map(async (connection) => { await connection.close() })) }
  try {
    for (const server of cluster.servers) connections.set(server.name, await connect({ servers: server.clientAddress, noRandomize: true, maxReconnectAttempts: 5 }))
    const admin = connections.get(cluster.servers[0].name) as NatsConnection
    const jsm = await admin.jetstreamManager()
    const streams: Stream[] = []
    let firstLeader = ''
    for (let p = 0; p < options.partitions; p++) {
      const name = `${options.name}_${p}`
      const subject = `${options.name}.${p}`
      await createStream(admin, name, subject)
      const info = await jsm.streams.info(name)
      const leader = info.cluster?.leader ?? cluster.servers[0].name
      const replicas = (info.cluster?.replicas ?? []).map((replica) => replica.name).sort()
      const server = options.clientOn === 'leader' ? leader : (replicas[0] ?? leader)
      if (p === 0) firstLeader = leader
      const connection = connections.get(server)
      if (connection === undefined) throw new Error(`stream ${name} is on server ${server}, not one the bench started`)
      streams.push({ name, subject, connection })
    }
    return {
      leaderNode: cluster.servers.findIndex((server) => server.name === firstLeader) + 1,
      publishPaths: [JS_PUBLISH, CORE_PUBLISH],
      openPublisher: async (path) => (path === CORE_PUBLISH ? corePublisher(streams) : jsPublisher(streams)),
      openConsumer: async () => await openStreamConsumers(streams),
      close: async () => {
        for (const stream of streams) await jsm.streams.delete(stream.name).catch(() => false)
        await closeAll()
      }
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}
