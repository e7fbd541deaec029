// Topic compaction on a 3-process cluster, as a Pulsar user drives it: keyed messages in
// ZLIB-compressed batches, `blazar topics compact`, the REST compaction status, then a reader
// and an Exclusive subscription with readCompacted see only the latest value of each key (no
// deleted key, no keyless message) up to the horizon and everything after it; a Shared
// subscription with readCompacted is refused; a namespace compactionThreshold compacts on its
// own; after the leader is killed and restarted the view is the same; Pulsar's Python client
// (LZ4 batches, is_read_compacted) sees the same too. Waits are bounded polls for a condition,
// never sleeps.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { Client, MessageId, type Message, type Reader } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'
import { pulsarPython, runScenario } from './pulsar/python-runner.ts'

const CLI_MAIN = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url))
const WAIT_MS = 30_000
const decoder = new TextDecoder()

async function waitFor (what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const shown = (message: Message): string => `${message.key ?? '-'}=${decoder.decode(message.data)}`

async function readAll (reader: Reader): Promise<string[]> {
  const out: string[] = []
  while (await reader.hasMessageAvailable()) out.push(shown(await reader.readNext(WAIT_MS)))
  return out
}

t.test('topic compaction on real nodes', async (t) => {
  Object.assign(process.env, { BLAZAR_COMPACTION_CHECK_INTERVAL_MS: '500' })
  const cluster = await startTestCluster('compaction')
  const client = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await client.close()
    await cluster.stop()
  })
  const rest = async (i: number, method: string, path: string, body?: unknown): Promise<{ status: number, json: unknown }> => {
    const response = await fetch(`http://127.0.0.1:${cluster.nodes[i]!.httpPort}/admin/v2${path}`, {
      method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    return { status: response.status, json: text.length > 0 ? JSON.parse(text) : undefined }
  }

  // Unlimited retention, as compacted topics usually have: without a subscription, retention 0
  // would drop the messages before the first compaction (afterwards it keeps what the view keeps).
  await client.admin.namespaces.setPolicies('public/default', { retentionTimeMinutes: -1, retentionSizeMB: -1 })
  const topic = 'persistent://public/default/prices'
  await client.admin.topics.create(topic, 0)
  const producer = await client.createProducer({ topic, compressionType: 'ZLIB', batchingMaxPublishDelayMs: 20 })
  const keys = Array.from({ length: 10 }, (_, i) => `k${i}`)
  for (const round of [1, 2, 3]) await Promise.all(keys.map(async (key) => await producer.send({ key, data: `${key}v${round}` })))
  await Promise.all([producer.send({ key: 'k3', data: '' }), producer.send({ key: 'k7', data: '' }), producer.send({ data: 'no key' })])

  await t.test('blazar topics compact, then the REST status reaches SUCCESS', async (t) => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI_MAIN, 'topics', 'compact', topic], {
      env: { ...process.env, BLAZAR_SERVICE_URL: cluster.addresses[1] }, timeout: WAIT_MS
    })
    t.match(stdout, /prices: compacting up to index \d+/)
    await waitFor('compaction SUCCESS', async () => ((await rest(2, 'GET', '/persistent/public/default/prices/compaction')).json as { status?: string } | undefined)?.status === 'SUCCESS')
    t.match(await client.admin.topics.compactionStatus(topic), [{ status: 'SUCCESS', keys: 8 }], 'k0..k9 less the two deleted')
  })

  await producer.send({ key: 'k0', data: 'k0v4' })
  const latest = keys.filter((key) => key !== 'k3' && key !== 'k7').map((key) => `${key}=${key}v3`)

  await t.test('a readCompacted reader sees the latest value per key, no deleted key, then the log after the horizon', async (t) => {
    const reader = await client.createReader({ topic, startMessageId: MessageId.earliest(), readCompacted: true })
    const read = await readAll(reader)
    await reader.close()
    t.same(read.slice(0, -1).sort(), latest, 'one message per live key, its latest value')
    t.equal(read.at(-1), 'k0=k0v4', 'the message after the horizon is read as stored')
    const plain = await client.createReader({ topic, startMessageId: MessageId.earliest() })
    t.equal((await readAll(plain)).length, 34, 'a reader without readCompacted reads every message')
    await plain.close()
  })

  await t.test('an Exclusive subscription reads compacted; Shared refuses readCompacted', async (t) => {
    const consumer = await client.subscribe({ topic, subscription: 'latest', subscriptionInitialPosition: 'Earliest', readCompacted: true })
    const got: string[] = []
    for (let i = 0; i < latest.length + 1; i++) {
      const message = await consumer.receive(WAIT_MS)
      got.push(shown(message))
      consumer.acknowledge(message)
    }
    t.same(got.slice(0, -1).sort(), latest)
    t.equal(got.at(-1), 'k0=k0v4')
    await consumer.close()
    await t.rejects(client.subscribe({ topic, subscription: 'shared', subscriptionType: 'Shared', readCompacted: true }), { code: 'UNSUPPORTED_OPERATION' })
  })

  await t.test('after the leader is killed and restarted, the new leader builds the same view from the log', async (t) => {
    const leader = cluster.indexOf((await client.admin.topics.lookup(topic)).leaders[0]?.leader ?? '')
    t.ok(leader >= 0, `the leader is node${leader + 1}`)
    await cluster.kill9(leader)
    await cluster.restart(leader)
    await waitFor('the compacted view on the new leader', async () => (await client.admin.topics.compactionStatus(topic))[0]?.status === 'SUCCESS')
    const reader = await client.createReader({ topic, startMessageId: MessageId.earliest(), readCompacted: true })
    const read = await readAll(reader)
    await reader.close()
    t.same(read.slice(0, -1).sort(), latest, 'the same latest value per live key')
    t.equal(read.at(-1), 'k0=k0v4')
  })

  await t.test('REST: PUT compaction; the namespace compactionThreshold compacts on the leader\'s timer', async (t) => {
    t.equal((await rest(0, 'PUT', '/persistent/public/default/prices/compaction')).status, 204)
    const ns = '/namespaces/public/default/compactionThreshold'
    t.equal((await rest(0, 'GET', ns)).json, 0, 'off by default')
    t.equal((await rest(1, 'PUT', ns, 512)).status, 204)
    t.equal((await rest(2, 'GET', ns)).json, 512)
    const auto = 'persistent://public/default/auto-compacted'
    await client.admin.topics.create(auto, 0)
    const second = await client.createProducer({ topic: auto, batchingEnabled: false })
    for (let i = 0; i < 8; i++) await second.send({ key: 'only', data: `value-${i}-${'x'.repeat(100)}` })
    await waitFor('the threshold to compact the topic', async () => (await client.admin.topics.compactionStatus(auto))[0]?.status === 'SUCCESS')
    const reader = await client.createReader({ topic: auto, startMessageId: MessageId.earliest(), readCompacted: true })
    const read = await readAll(reader)
    t.ok(read.length < 8 && read.at(-1) === `only=value-7-${'x'.repeat(100)}`, `compacted on its own: ${read.length} of 8 messages left for a compacted reader, the last value last`)
    await reader.close()
    await second.close()
    t.equal((await rest(1, 'DELETE', ns)).status, 204)
  })
  await t.test('Pulsar\'s Python client: LZ4 batches in, is_read_compacted out', async (t) => {
    const python = pulsarPython()
    const pulsarTopic = 'persistent://public/default/python-compacted'
    await client.admin.topics.create(pulsarTopic, 0)
    const url = `pulsar://127.0.0.1:${cluster.nodes[0]!.pulsarPort}`
    const records = [...keys.map((key) => [key, `${key}-a`]), ...keys.map((key) => [key, `${key}-b`]), ['k5', ''], [null, 'no key']]
    const produced = await runScenario(python, 'produce_keyed', { url, topic: pulsarTopic, records, compression: 'LZ4' }, 120_000)
    t.ok(produced.ok, produced.output)
    await client.admin.topics.compact(pulsarTopic)
    await waitFor('compaction SUCCESS', async () => (await client.admin.topics.compactionStatus(pulsarTopic))[0]?.status === 'SUCCESS')
    const run = await runScenario(python, 'read_compacted', { url: `pulsar://127.0.0.1:${cluster.nodes[1]!.pulsarPort}`, topic: pulsarTopic }, 120_000)
    t.ok(run.ok, run.output)
    t.match(await client.admin.topics.compactionStatus(pulsarTopic), [{ status: 'SUCCESS', keys: 9 }], 'the keys inside the C++ client\'s LZ4 batch were read')
    t.same([...((run.result?.read ?? []) as string[])].sort(), keys.filter((key) => key !== 'k5').map((key) => `${key}=${key}-b`), 'the latest value of each live key')
    t.ok(run.result?.shared_refused !== null, `a Shared subscription with is_read_compacted is refused (${String(run.result?.shared_refused)})`)
  })
  await producer.close()
})
