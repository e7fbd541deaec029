// The local cluster's demonstration: waits until all nodes are members of the metadata group,
// creates a topic, subscribes through one node, publishes through another, and prints every
// consumed message with its ID. Returns what it saw so callers (and tests) can check it.
import { Client } from '@blazar/client'
import { TopicAlreadyExistsError, type MessageId } from '@blazar/protocol'

export interface RoundTrip {
  topic: string
  leader: string | null
  published: MessageId[]
  consumed: Array<{ id: MessageId, text: string }>
}

/**
 * Polls cluster status through `address` until `nodes` nodes are registered and the metadata
 * group has the voters it chooses for that many (3, or 5 from 5 nodes), bounded.
 */
export async function waitForCluster (address: string, nodes: number, timeoutMs: number): Promise<void> {
  const voters = nodes >= 5 ? 5 : Math.min(3, nodes)
  const deadline = Date.now() + timeoutMs
  const client = await Client.create({ serviceUrl: address, operationTimeoutMs: timeoutMs })
  try {
    for (;;) {
      try {
        const status = await client.admin.cluster.status()
        const meta = status.groups.find((row) => row.group === 'meta' && row.role === 'leader')
        if (status.nodes.length >= nodes && meta !== undefined && (meta.voters?.length ?? 0) >= voters) return
      } catch {
        // no metadata leader yet
      }
      if (Date.now() >= deadline) throw new Error(`the cluster did not form ${nodes} members within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  } finally {
    await client.close()
  }
}

export async function roundTrip (options: {
  topic: string
  messages: number
  produceVia: string
  consumeVia: string
  print: (line: string) => void
}): Promise<RoundTrip> {
  const { topic, messages, print } = options
  const consumerClient = await Client.create({ serviceUrl: options.consumeVia })
  const producerClient = await Client.create({ serviceUrl: options.produceVia })
  try {
    try {
      await producerClient.admin.topics.create(topic, 0)
    } catch (error) {
      if (!(error instanceof TopicAlreadyExistsError)) throw error
    }
    const consumer = await consumerClient.subscribe({ topic, subscription: `demo-${Date.now()}`, subscriptionInitialPosition: 'Latest' })
    const producer = await producerClient.createProducer({ topic })
    const sends = Array.from({ length: messages }, async (_, i) => await producer.send({ data: new TextEncoder().encode(`message ${i + 1}`) }))
    const published = await Promise.all(sends)
    const consumed: RoundTrip['consumed'] = []
    while (consumed.length < messages) {
      const message = await consumer.receive(30_000)
      const text = new TextDecoder().decode(message.data)
      consumed.push({ id: message.messageId, text })
      print(`  ${message.messageId.toString().padEnd(12)} ${text}`)
      await consumer.acknowledge(message)
    }
    const lookup = await producerClient.admin.topics.lookup(topic)
    await producer.close()
    // The demo's subscription goes with it, so repeated runs leave no backlog behind.
    await consumer.unsubscribe()
    return { topic, leader: lookup.leaders[0]?.leader ?? null, published, consumed }
  } finally {
    await Promise.all([producerClient.close(), consumerClient.close()])
  }
}
