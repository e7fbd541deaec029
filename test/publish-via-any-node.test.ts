// "Publish via any node": on a 3-process cluster, a node that does not lead a partition
// forwards produce and consume traffic to the leader's node. Checked twice: on the raw client
// protocol against the non-leader (so the forwarding path itself is what answers), and with
// @blazar/client given only the non-leader's address.
import t from 'tap'
import { Client } from '@blazar/client'
import {
  CompressionCodecs, decodeBatch, encodeBatch, parseClientReply, parseServerPush, type ClientRequestBody, type DeliveredEntry
} from '@blazar/protocol'
import { Transport } from '@blazar/transport'
import { startClusterWithTopic } from './support/broker-nodes.ts'

const codecs = new CompressionCodecs([])

t.test('a non-leader node serves producers and consumers by forwarding to the leader', async (t) => {
  const topic = 'persistent://public/default/via-any'
  const { cluster, admin, leader: leaderIndex } = await startClusterWithTopic('via-any', topic)
  t.teardown(async () => {
    await admin.close()
    await cluster.stop()
  })
  t.ok(leaderIndex >= 0, 'the partition has a leader')
  const via = (leaderIndex + 1) % 3
  t.not(via, leaderIndex, `requests go to node${via + 1}, the leader is node${leaderIndex + 1}`)

  t.test('raw protocol through the non-leader', async (t) => {
    const transport = await Transport.start({})
    t.teardown(async () => { await transport.stop() })
    const connection = await transport.connectClient(cluster.addresses[via] as string)
    const request = async (body: ClientRequestBody) => parseClientReply(await connection.request(body), body.type)
    const pushed: DeliveredEntry[] = []
    connection.onPush((body) => {
      const push = parseServerPush(body)
      if (push.type === 'messages') pushed.push(...push.entries)
    })
    connection.grantPermits(100)
    const created = await request({ type: 'create-producer', topic, producerId: 1, producerName: 'raw-producer', accessMode: 'Shared' })
    t.ok(created.ok, 'create-producer answered by the non-leader')
    const ids = []
    for (let i = 0; i < 5; i++) {
      const batch = encodeBatch([{ payload: new TextEncoder().encode(`raw ${i}`), sequenceId: i, properties: {}, eventTime: 0 }], { producerName: 'raw-producer' }, codecs)
      const sent = await request({ type: 'send', producerId: 1, batch })
      t.ok(sent.ok, `send ${i} acknowledged through the non-leader`)
      if (sent.ok) ids.push((sent.result as { messageId: { index: number } }).messageId.index)
    }
    t.same(ids, [...ids].sort((a, b) => a - b), 'message IDs increase')
    const subscribed = await request({ type: 'subscribe', topic, subscription: 'raw-sub', consumerId: 9, subscriptionType: 'Exclusive', initialPosition: 'Earliest', durable: true })
    t.ok(subscribed.ok, 'subscribe answered by the non-leader')
    t.ok((await request({ type: 'flow', consumerId: 9, permits: 100 })).ok, 'flow forwarded')
    const deadline = Date.now() + 10_000
    while (pushed.length < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    const texts = pushed.flatMap((entry) => decodeBatch(entry.batch, codecs).map((m) => new TextDecoder().decode(m.payload)))
    t.same(texts, ['warm-up', 'raw 0', 'raw 1', 'raw 2', 'raw 3', 'raw 4'], 'the leader\'s pushes are relayed in order')

    const last = await request({ type: 'get-last-message-id', consumerId: 9 })
    const partition = pushed[0]!.messageId.partition
    const lastIds = last.ok ? last.result as { lastMessageId: unknown, markDeletePosition: { partition: number, index: number, batchIndex: number } } : undefined
    t.same(lastIds?.lastMessageId, { partition, index: ids.at(-1), batchIndex: 0 }, 'get-last-message-id forwarded: the last message')
    t.ok(lastIds !== undefined && lastIds.markDeletePosition.index < pushed[0]!.messageId.index && lastIds.markDeletePosition.batchIndex === -1, 'and the subscription\'s mark-delete: below everything (nothing acknowledged yet)')

    pushed.length = 0
    const reader = await request({
      type: 'subscribe', topic, subscription: 'raw-reader', consumerId: 10, subscriptionType: 'Exclusive', initialPosition: 'Latest',
      durable: false, startMessageId: { partition, index: ids[2] as number, batchIndex: 0 }, startMessageIdInclusive: false
    })
    t.ok(reader.ok, 'a reader (non-durable) subscribes through the non-leader')
    t.ok((await request({ type: 'flow', consumerId: 10, permits: 100 })).ok)
    const readerDeadline = Date.now() + 10_000
    while (pushed.length < 2 && Date.now() < readerDeadline) await new Promise((resolve) => setTimeout(resolve, 20))
    t.same(pushed.flatMap((entry) => decodeBatch(entry.batch, codecs).map((m) => new TextDecoder().decode(m.payload))), ['raw 3', 'raw 4'], 'the reader starts after its start message')
    await connection.close()
  })

  t.test('@blazar/client given only the non-leader\'s address', async (t) => {
    const client = await Client.create({ serviceUrl: cluster.addresses[via] })
    t.teardown(async () => { await client.close() })
    const consumer = await client.subscribe({ topic, subscription: 'client-sub', subscriptionInitialPosition: 'Latest' })
    const producer = await client.createProducer({ topic })
    const sent = await Promise.all(Array.from({ length: 20 }, async (_, i) => await producer.send({ data: new TextEncoder().encode(`m${i}`) })))
    const received = []
    for (let i = 0; i < 20; i++) {
      const message = await consumer.receive(10_000)
      received.push(message.messageId.toString())
      await consumer.acknowledge(message)
    }
    t.same(received, sent.map((id) => id.toString()), 'every acknowledged message consumed, in send order')
  })
})
