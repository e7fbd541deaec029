// Real processes, 3 nodes: `blazar topics stats`, run as its own process, prints why a consumer
// is stuck in plain words; and a delayed message survives a kill -9 of its partition's leader
// (the new leader rebuilds its delayed index from the log: the Shared consumer gets it once,
// after its deliverAt, not before). Waits are bounded polls for a condition, never sleeps.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { Client, type Message } from '@blazar/client'
import { startClusterWithTopic } from './support/broker-nodes.ts'

const TOPIC = 'persistent://public/default/delayed-kill'
const STUCK_TOPIC = 'persistent://public/default/stuck-reader'
const WAIT_MS = 30_000
/** Long enough that the kill and the new election happen before the message is due. */
const DELAY_MS = 4_000
const CLI = join(import.meta.dirname, '..', 'packages', 'cli', 'src', 'main.ts')
const run = promisify(execFile)

async function until<T> (what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('topics stats says why a consumer is stuck; delayed delivery across a kill -9 of the leader', async (t) => {
  const { cluster, admin, leader } = await startClusterWithTopic('delayed-kill', TOPIC)
  const client = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await client.close()
    await admin.close()
    await cluster.stop()
  })
  t.ok(leader >= 0, `node${leader + 1} leads ${TOPIC}`)

  // A consumer whose receiver queue is full and which takes nothing: NO_PERMITS, in words.
  await admin.admin.topics.create(STUCK_TOPIC, 0)
  const stuck = await client.subscribe({ topic: STUCK_TOPIC, subscription: 'stalled', receiverQueueSize: 1, subscriptionInitialPosition: 'Earliest' })
  t.teardown(async () => { await stuck.close() })
  const stuckProducer = await client.createProducer({ topic: STUCK_TOPIC, batchingEnabled: false })
  for (const data of ['one', 'two', 'three']) await stuckProducer.send({ data })
  await until('NO_PERMITS in the stats', async () => {
    const stats = await admin.admin.topics.stats(STUCK_TOPIC)
    return stats.subscriptions.find((sub) => sub.name === 'stalled')?.reason === 'NO_PERMITS' ? true : undefined
  })
  const { stdout } = await run(process.execPath, [CLI, 'topics', 'stats', STUCK_TOPIC, '--service-url', ...cluster.addresses], { timeout: WAIT_MS })
  t.match(stdout, /subscription stalled \(Exclusive\): backlog 3/, 'the subscription line', { stdout })
  t.match(stdout, /dispatch is not progressing: the consumer has no flow permits left/, 'the reason in words', { stdout })
  t.match(stdout, /not receiving: the consumer has no flow permits left/, 'the consumer says why too', { stdout })

  const consumer = await client.subscribe({ topic: TOPIC, subscription: 'later', subscriptionType: 'Shared', subscriptionInitialPosition: 'Latest' })
  const producer = await client.createProducer({ topic: TOPIC, batchingEnabled: false })
  const deliverAt = Date.now() + DELAY_MS
  const id = await producer.send({ data: 'due later', deliverAt })
  await cluster.kill9(leader)
  t.pass(`node${leader + 1} killed (-9) once the delayed message was stored`)

  const received: Array<{ message: Message, at: number }> = []
  await until('the delayed message, acknowledged', async () => {
    const message = await consumer.receive(500).catch(() => undefined)
    if (message !== undefined) {
      received.push({ message, at: Date.now() })
      await consumer.acknowledge(message)
      await consumer.flush()
    }
    if (received.length === 0) return undefined
    const stats = await admin.admin.topics.stats(TOPIC)
    const later = stats.subscriptions.find((sub) => sub.name === 'later')
    return later !== undefined && later.backlog === 0 ? later : undefined
  })
  t.equal(received.length, 1, 'delivered once')
  t.ok(received[0]!.message.messageId.equals(id), 'the message that was sent')
  t.ok(received[0]!.at >= deliverAt, `not before its deliverAt (${received[0]!.at - deliverAt} ms after it)`)
})
