// A kill -9 of a partition's leader while the official Python client (through another node)
// sends 10,000 messages asynchronously: every message whose send callback reported success
// is read back afterwards, in send order (at-least-once: a send whose outcome the dead leader
// took with it is resent by the client and may be stored twice).
import t from 'tap'
import { Client } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'
import { pulsarPython, runScenario, startScenario } from './pulsar/python-runner.ts'

const TOPIC = 'persistent://public/default/leader-kill'
const MESSAGES = 10_000

t.test('kill -9 of the partition leader while the Python producer sends', async (t) => {
  const python = pulsarPython()
  const cluster = await startTestCluster('pulsar-kill')
  const admin = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await admin.close()
    await cluster.stop()
  })
  await admin.admin.topics.create(TOPIC, 0)
  const leaderOf = async (): Promise<number> => cluster.indexOf((await admin.admin.topics.lookup(TOPIC)).leaders[0]?.leader ?? '')
  // One lookup's answer is the leader killed below (a second lookup may see an election).
  const deadline = Date.now() + 30_000
  let leader = await leaderOf()
  while (leader < 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    leader = await leaderOf()
  }
  if (leader < 0) {
    t.fail(`no leader of ${TOPIC} within 30 s`)
    return
  }
  t.pass(`node${leader + 1} leads ${TOPIC}`)
  const via = (leader + 1) % 3
  const url = `pulsar://127.0.0.1:${cluster.nodes[via]?.pulsarPort}`

  const producing = startScenario(python, 'produce_many', { url, topic: TOPIC, count: MESSAGES, signal_at: 2_000 }, 240_000)
  t.teardown(producing.stop)
  await producing.printed('SIGNAL')
  await cluster.kill9(leader)
  t.pass(`node${leader + 1} killed (-9) after 2,000 of ${MESSAGES} sends were queued`)
  const produced = await producing.done
  t.ok(produced.ok, 'the producer finished', produced.ok ? {} : { output: produced.output })
  const acknowledged = (produced.result?.acknowledged ?? []) as number[]
  t.ok((produced.result?.acknowledged_at_signal as number) < MESSAGES, `the leader died mid-stream: ${String(produced.result?.acknowledged_at_signal)} sends were acknowledged when the kill was ordered`)
  t.ok(acknowledged.length > MESSAGES / 2, `${acknowledged.length} sends reported success, ${String(produced.result?.failed)} failed (${String(produced.result?.seconds)} s)`)

  const consumed = await runScenario(python, 'consume_all', { url, topic: TOPIC, expect: acknowledged }, 240_000)
  t.ok(consumed.ok, 'every acknowledged message was read back', consumed.ok ? {} : { output: consumed.output })
  const payloads = (consumed.result?.payloads ?? []) as number[]
  const firstSeen: number[] = []
  const seen = new Set<number>()
  for (const payload of payloads) {
    if (seen.has(payload)) continue
    seen.add(payload)
    firstSeen.push(payload)
  }
  const missing = acknowledged.filter((i) => !seen.has(i))
  t.same(missing, [], 'no acknowledged message is missing')
  const outOfOrder = firstSeen.findIndex((payload, i) => i > 0 && payload < (firstSeen[i - 1] as number))
  const around = outOfOrder < 0 ? '' : ` (out of order at ${outOfOrder}: ${firstSeen.slice(Math.max(0, outOfOrder - 3), outOfOrder + 3).join(', ')})`
  t.equal(outOfOrder, -1, `messages are stored in send order${around}`)
  t.comment(`${payloads.length} read, ${payloads.length - firstSeen.length} duplicates from resent sends`)
})
