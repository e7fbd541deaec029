// The durability promise end to end, on 3 real processes: 10,000 messages are published by
// three producers, each entering through a different node, while the partition's leader is
// killed with SIGKILL once and restarted. A consumer entering through a node that is never
// killed must then see every acknowledged message, at the ID its send reported, in ID order;
// a send that failed is reported as failed (never as sent), and nothing is consumed that no
// producer sent.
import t from 'tap'
import { Client, type Message, type Producer } from '@blazar/client'
import type { MessageId } from '@blazar/protocol'
import { startClusterWithTopic } from './support/broker-nodes.ts'

const MESSAGES = 10_000
const PRODUCERS = 3
const KILL_AFTER_ACKS = 3_000
const CONSUME_TIMEOUT_MS = 90_000

interface Outcome { text: string, id: MessageId | null, error: string | null }

t.test('kill -9 of the partition leader loses no acknowledged message', async (t) => {
  const topic = 'persistent://public/default/failover'
  const { cluster, admin, leader: victim } = await startClusterWithTopic('failover', topic)
  t.teardown(async () => {
    await admin.close()
    await cluster.stop()
  })
  const consumerNode = (victim + 1) % 3
  t.ok(victim >= 0, `the leader is node${victim + 1}; consuming through node${consumerNode + 1}`)

  const consumerClient = await Client.create({ serviceUrl: cluster.addresses[consumerNode] })
  t.teardown(async () => { await consumerClient.close() })
  const consumer = await consumerClient.subscribe({ topic, subscription: 'failover-check', subscriptionInitialPosition: 'Earliest', receiverQueueSize: 2_000 })

  const producerClients = await Promise.all(Array.from({ length: PRODUCERS }, async (_, i) => await Client.create({ serviceUrl: cluster.addresses[i] })))
  t.teardown(async () => { await Promise.all(producerClients.map(async (client) => { await client.close() })) })
  const producers: Producer[] = await Promise.all(producerClients.map(async (client, i) => await client.createProducer({ topic, producerName: `producer-${i}`, sendTimeoutMs: 30_000 })))

  const publishStart = Date.now()
  const outcomes: Outcome[] = []
  let acked = 0
  let killed: Promise<void> | undefined
  const sends: Array<Promise<void>> = []
  for (let i = 0; i < MESSAGES; i++) {
    const text = `p${i % PRODUCERS}-${Math.floor(i / PRODUCERS)}`
    const outcome: Outcome = { text, id: null, error: null }
    outcomes.push(outcome)
    sends.push(producers[i % PRODUCERS]!.send({ data: new TextEncoder().encode(text) }).then((id) => {
      outcome.id = id
      if (++acked === KILL_AFTER_ACKS) killed = cluster.kill9(victim).then(async () => { await cluster.restart(victim) })
    }, (error: unknown) => { outcome.error = String(error) }))
    if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  await Promise.all(sends)
  const publishMs = Date.now() - publishStart
  t.ok(killed !== undefined, 'the leader was killed during the run')
  await killed
  const sent = outcomes.filter((o) => o.id !== null)
  const failed = outcomes.filter((o) => o.error !== null)
  t.equal(sent.length + failed.length, MESSAGES, 'every send settled, as sent or as failed')
  const failures = new Map<string, number>()
  for (const o of failed) failures.set(o.error as string, (failures.get(o.error as string) ?? 0) + 1)
  t.comment(`${sent.length} acknowledged, ${failed.length} failed ${JSON.stringify([...failures])}`)
  t.ok(sent.length >= MESSAGES / 2, 'most sends were acknowledged')

  const expected = new Map(sent.map((o) => [o.id!.toString(), o.text]))
  const sentTexts = new Set(outcomes.map((o) => o.text))
  const seen = new Map<string, string>()
  const firstSeenOrder: MessageId[] = []
  let phantom = 0
  const consumeStart = Date.now()
  const deadline = consumeStart + CONSUME_TIMEOUT_MS
  let missing = expected.size
  while (missing > 0 && Date.now() < deadline) {
    let message: Message
    try {
      message = await consumer.receive(Math.min(5_000, Math.max(1, deadline - Date.now())))
    } catch {
      t.comment(`no message for 5 s at ${seen.size} distinct; subscription: ${JSON.stringify((await admin.admin.topics.stats(topic)).subscriptions)}`)
      continue
    }
    const id = message.messageId.toString()
    const text = new TextDecoder().decode(message.data)
    if (text !== 'warm-up' && !sentTexts.has(text)) phantom++
    if (!seen.has(id)) {
      seen.set(id, text)
      firstSeenOrder.push(message.messageId)
      if (expected.has(id)) missing--
    }
    await consumer.acknowledge(message)
  }
  const lost = [...expected].filter(([id]) => !seen.has(id))
  if (lost.length > 0) t.comment(`consumer saw ${seen.size} distinct IDs; subscription: ${JSON.stringify((await admin.admin.topics.stats(topic)).subscriptions)}`)
  t.same(lost.slice(0, 5), [], `no acknowledged message lost (${lost.length} missing)`)
  const wrong = [...expected].filter(([id, text]) => seen.has(id) && seen.get(id) !== text)
  t.same(wrong.slice(0, 5), [], 'each acknowledged message is consumed at the ID its send reported')
  t.equal(phantom, 0, 'nothing consumed that no producer sent')
  const outOfOrder = firstSeenOrder.findIndex((id, i) => i > 0 && id.compare(firstSeenOrder[i - 1] as MessageId) <= 0)
  t.equal(outOfOrder, -1, 'first deliveries arrive in message ID order')
  for (let p = 0; p < PRODUCERS; p++) {
    const mine = sent.filter((o) => o.text.startsWith(`p${p}-`)).sort((a, b) => a.id!.compare(b.id!))
    const inversions = mine.filter((o, i) => i > 0 && Number(o.text.split('-')[1]) < Number(mine[i - 1]!.text.split('-')[1])).length
    t.equal(inversions, 0, `producer ${p}'s acknowledged messages are stored in the order it sent them`)
  }
  t.comment(`publish ${publishMs} ms, consume ${Date.now() - consumeStart} ms`)
})
