// A partition leader that stops answering without closing its sockets (SIGSTOP: a GC pause, a
// frozen VM) must not strand the consumers attached through it: the silence is noticed (the
// forwarding node's liveness check or its request timeout resets the connection; the client's
// own timeouts), the consumer subscribes again at the new leader, and messages published
// meanwhile are consumed. Then the old leader resumes.
import t from 'tap'
import { Client } from '@blazar/client'
import { startClusterWithTopic } from './support/broker-nodes.ts'

t.test('consumers forwarded to a paused leader move to the new leader', async (t) => {
  const topic = 'persistent://public/default/paused'
  const { cluster, admin, leader } = await startClusterWithTopic('paused', topic)
  let paused = -1
  t.teardown(async () => {
    if (paused >= 0) await cluster.resume(paused)
    await admin.close()
    await cluster.stop()
  })
  const via = (leader + 1) % 3
  const consumerClient = await Client.create({ serviceUrl: cluster.addresses[via] })
  t.teardown(async () => { await consumerClient.close() })
  const consumer = await consumerClient.subscribe({ topic, subscription: 'paused-sub', subscriptionInitialPosition: 'Earliest' })
  t.equal(new TextDecoder().decode((await consumer.receive(10_000)).data), 'warm-up')

  await cluster.pause(leader)
  paused = leader
  const producerClient = await Client.create({ serviceUrl: cluster.addresses[via] })
  t.teardown(async () => { await producerClient.close() })
  const producer = await producerClient.createProducer({ topic })
  const sent = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await producer.send({ data: new TextEncoder().encode(`during ${i}`) })).toString()))
  t.equal(sent.length, 20, `published while node${leader + 1} (the old leader) is paused`)
  const received = new Set<string>()
  const deadline = Date.now() + 30_000
  while (received.size < 20 && Date.now() < deadline) {
    const message = await consumer.receive(Math.max(1, deadline - Date.now())).catch(() => null)
    if (message === null) break
    if (new TextDecoder().decode(message.data).startsWith('during')) received.add(message.messageId.toString())
    await consumer.acknowledge(message)
  }
  t.same([...received].sort(), [...sent].sort(), 'every message published during the pause is consumed')
  await cluster.resume(leader)
  paused = -1
})
