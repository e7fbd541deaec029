// Blazar behind the workloads' MessagingTarget: one topic (non-partitioned for 1 partition,
// else partitioned) on a bench cluster, RF 3 with majority fsync (the namespace default), and
// @blazar/client in this process. With the client "on the leader" it connects to the first
// partition's leader (and, as it always does, dials each partition's leader directly); "on a
// follower" it runs on a transport that dials one node that does not lead the first partition,
// so every request goes through that node, which forwards.
import { Client, type Producer, type ProducerOptions } from '@blazar/client'
import { TimeoutError } from '@blazar/protocol'
import { Transport } from '@blazar/transport'
import type { BenchCluster } from './blazar-cluster.ts'
import type { MessagingTarget, PublishMode, Publisher } from './workloads.ts'

export type ClientPlacement = 'leader' | 'follower'

/** After every partition has a leader: the preferred-leader hand-off comes 2 s after an election. */
const LEADER_SETTLE_MS = 3000
const LEADER_WAIT_MS = 60_000
const SUBSCRIPTION = 'bench'
/** The one publish path: Producer.send. */
const SEND = 'send'

/**
 * Producer settings per mode: the client's defaults for the maximum rate, a 1 ms batching
 * delay at a fixed rate (what OpenMessaging's Pulsar driver sets), no batching one at a time.
 */
export const BLAZAR_PRODUCER_SETTINGS: Record<PublishMode, Partial<ProducerOptions>> = {
  'max-rate': {},
  'fixed-rate': { batchingMaxPublishDelayMs: 1 },
  'one-at-a-time': { batchingEnabled: false }
}

/** The node (as an index into cluster.addresses) leading the first partition, once every partition has a leader. */
async function settledLeader (admin: Client, topic: string, partitions: number, cluster: BenchCluster): Promise<number> {
  const deadline = Date.now() + LEADER_WAIT_MS
  for (;;) {
    const lookup = await admin.admin.topics.lookup(topic).catch(() => null)
    const led = lookup?.leaders.filter((entry) => entry.leader !== null).length ?? 0
    if (led >= partitions) break
    if (Date.now() >= deadline) throw new Error(`${led} of ${partitions} partitions of ${topic} had a leader after ${LEADER_WAIT_MS} ms`)
    await new Promise((resolve) => { setTimeout(resolve, 100) })
  }
  await new Promise((resolve) => { setTimeout(resolve, LEADER_SETTLE_MS) })
  const first = (await admin.admin.topics.lookup(topic)).leaders.reduce((a, b) => (a.partition <= b.partition ? a : b))
  const index = cluster.addresses.findIndex((address) => first.leader !== null && address.endsWith(`/p2p/${first.leader}`))
  if (index < 0) throw new Error(`the leader of ${topic} is not one of the bench's nodes`)
  return index
}

/** A client transport that dials only `address`'s node, so every request enters the cluster there. */
async function pinnedTransport (address: string): Promise<Transport> {
  const transport = await Transport.start({ listen: [] })
  const peer = address.slice(address.lastIndexOf('/p2p/') + 5)
  const connectClient = transport.connectClient.bind(transport)
  transport.connectClient = async (target) => {
    if (!String(target).endsWith(peer)) throw new Error(`the bench pins this client to ${peer}`)
    return await connectClient(target)
  }
  return transport
}

export async function openBlazarTopic (cluster: BenchCluster, options: { name: string, partitions: number, clientOn: ClientPlacement }): Promise<MessagingTarget & { leaderNode: number, clientNode: number }> {
  const topic = `persistent://public/default/${options.name}`
  const admin = await Client.create({ serviceUrl: cluster.addresses })
  let client: Client
  let transport: Transport | null = null
  let leader: number
  let clientNode: number
  let opened: Client | null = null
  try {
    await admin.admin.topics.create(topic, options.partitions === 1 ? 0 : options.partitions)
    leader = await settledLeader(admin, topic, options.partitions, cluster)
    clientNode = options.clientOn === 'leader' ? leader : (leader + 1) % cluster.addresses.length
    const address = cluster.addresses[clientNode]
    if (options.clientOn === 'follower') transport = await pinnedTransport(address)
    client = await Client.create({ serviceUrl: [address], ...(transport === null ? {} : { transport }) })
    opened = client
    // The durable subscription exists from the start, so the consume workload reads everything published.
    await (await client.subscribe({ topic, subscription: SUBSCRIPTION, subscriptionInitialPosition: 'Earliest' })).close()
  } catch (error) {
    await opened?.close()
    await admin.close()
    if (transport !== null) await transport.stop()
    throw error
  }
  const data = client
  const openProducers = new Set<Producer>()
  return {
    leaderNode: leader + 1,
    clientNode: clientNode + 1,
    publishPaths: [SEND],
    openPublisher: async (_path: string, mode: PublishMode): Promise<Publisher> => {
      const producer = await data.createProducer({ topic, ...BLAZAR_PRODUCER_SETTINGS[mode] })
      openProducers.add(producer)
      return {
        send: async (payload) => { await producer.send({ data: payload }) },
        close: async () => { openProducers.delete(producer); await producer.close() }
      }
    },
    openConsumer: async () => {
      const consumer = await data.subscribe({ topic, subscription: SUBSCRIPTION, subscriptionInitialPosition: 'Earliest' })
      return {
        consume: async (count, deadline) => {
          let received = 0
          while (received < count) {
            const remaining = deadline - performance.now()
            if (remaining <= 0) break
            try {
              await consumer.acknowledge(await consumer.receive(Math.ceil(remaining)))
            } catch (error) {
              if (error instanceof TimeoutError) break
              throw error
            }
            received++
          }
          await consumer.flush()
          return received
        },
        close: async () => { await consumer.close() }
      }
    },
    close: async () => {
      for (const producer of openProducers) await producer.close()
      await data.close()
      await admin.close()
      if (transport !== null) await transport.stop()
    }
  }
}
