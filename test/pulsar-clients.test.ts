// Pulsar's own clients against a 3-process Blazar cluster on 127.0.0.1, through the nodes'
// Pulsar ports: the official Python client (pulsar-client, pinned; scenarios in
// test/pulsar/python/scenarios.py), pulsar-flex (pure JS, unmodified), messages crossing
// between @blazar/client and the Python client, and bad input on the port. Every topic is
// created first and the test waits until its partitions' leaders have settled, so it knows
// which node leads what: each client is given a node that leads none of its topic's
// partitions (the forwarding path), and the seeds' example also runs through the leader.
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { Client } from '@blazar/client'
import { startTestCluster, type TestCluster } from './support/broker-nodes.ts'
import { pulsarPython, runScenario } from './pulsar/python-runner.ts'

const NAMESPACE = 'public/default'
const ns = (name: string): string => `persistent://${NAMESPACE}/${name}`
const COMPRESSIONS = ['LZ4', 'ZLIB', 'ZSTD', 'SNAPPY']
/** How long partition leaders must stay put before a scenario relies on them (the preferred-leader hand-off comes 2 s after an election). */
const LEADERS_SETTLED_MS = 3_000

/** Topic → partitions, for every scenario below. */
const TOPICS: Record<string, number> = {
  'my-topic': 0,
  'my-topic-at-leader': 0,
  batching: 0,
  ...Object.fromEntries(COMPRESSIONS.map((c) => [`compression-${c}`, 0])),
  keyed: 3,
  exclusive: 0,
  shared: 0,
  failover: 0,
  'key-shared': 0,
  'negative-ack': 0,
  'ack-timeout': 0,
  'dead-letter': 0,
  'dead-letter-DLQ': 0,
  readers: 0,
  seek: 0,
  'string-schema': 0,
  'pattern-a': 0,
  'pattern-b': 0,
  flex: 0,
  'blazar-to-python': 0,
  'python-to-blazar': 0
}

t.test('Pulsar clients produce and consume through any node', async (t) => {
  const python = pulsarPython()
  const cluster = await startTestCluster('pulsar-clients')
  const admin = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await admin.close()
    await cluster.stop()
  })
  for (const [name, partitions] of Object.entries(TOPICS)) await admin.admin.topics.create(ns(name), partitions)
  const leaders = await settledLeaders(admin, cluster, Object.keys(TOPICS).map(ns))
  const port = (index: number): number => cluster.nodes[index]?.pulsarPort as number
  const url = (index: number): string => `pulsar://127.0.0.1:${port(index)}`
  /** A node leading none of the topic's partitions (for 3 partitions on 3 nodes there may be none: then one not leading the first). */
  const nonLeader = (name: string): number => {
    const of = leaders.get(ns(name)) as number[]
    return [0, 1, 2].find((i) => !of.includes(i)) ?? [0, 1, 2].find((i) => i !== of[0]) as number
  }

  async function scenario (t: Test, name: string, args: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
    const run = await runScenario(python, name, args, timeoutMs)
    t.ok(run.ok, `${name} passes`, run.ok ? {} : { output: run.output })
    return run.result ?? {}
  }

  t.test("the seeds' example, through a node that does not lead the topic and through the leader", async (t) => {
    const via = nonLeader('my-topic')
    t.not(via, leaders.get(ns('my-topic'))?.[0], 'the client\'s node is not the leader')
    t.equal((await scenario(t, 'seeds_example', { url: url(via), topic: ns('my-topic') })).received, 10, 'ten messages, in order, with the ids the producer got')
    const leader = leaders.get(ns('my-topic-at-leader'))?.[0] as number
    t.equal((await scenario(t, 'seeds_example', { url: url(leader), topic: ns('my-topic-at-leader') })).received, 10)
  })

  t.test('batching off and on, and each compression codec', async (t) => {
    const plain = await scenario(t, 'batching', { url: url(nonLeader('batching')), topic: ns('batching') })
    t.same(plain, { unbatched: { messages: 50, entries: 50 }, batched: { messages: 50, entries: 1 } }, 'one entry per message unbatched, one for the batch; payload, properties, key and event time intact')
    for (const compression of COMPRESSIONS) {
      const topic = `compression-${compression}`
      const result = await scenario(t, 'batching', { url: url(nonLeader(topic)), topic: ns(topic), compression })
      t.same(result.batched, { messages: 50, entries: 1 }, `${compression}: stored as sent, read back by the client`)
    }
  })

  t.test('a partitioned topic: each key lands on one partition', async (t) => {
    const result = await scenario(t, 'partitioned_keys', { url: url(nonLeader('keyed')), topic: ns('keyed') })
    t.equal(result.keys, 8)
    t.ok((result.partitions_used as number) >= 2, `keys spread over ${String(result.partitions_used)} partitions`)
  })

  t.test('subscription types', async (t) => {
    t.same(await scenario(t, 'exclusive', { url: url(nonLeader('exclusive')), topic: ns('exclusive') }), { second_consumer: 'ConsumerBusy' })
    const shared = await scenario(t, 'shared', { url: url(nonLeader('shared')), topic: ns('shared') })
    t.equal((shared.a as number) + (shared.b as number), 40, 'Shared: every message once, over both consumers')
    t.same(await scenario(t, 'failover', { url: url(nonLeader('failover')), topic: ns('failover') }), { active_then_standby: [5, 5] }, 'Failover: the standby takes over when the active one closes')
    const keyShared = await scenario(t, 'key_shared', { url: url(nonLeader('key-shared')), topic: ns('key-shared') })
    t.equal(keyShared.keys, 6, 'Key_Shared: each of 6 keys stayed with one consumer')
  })

  t.test('negative acks, ack timeout and a dead-letter policy', async (t) => {
    t.same(await scenario(t, 'negative_ack', { url: url(nonLeader('negative-ack')), topic: ns('negative-ack') }), { redelivery_count: 1 })
    const timeout = await scenario(t, 'ack_timeout', { url: url(nonLeader('ack-timeout')), topic: ns('ack-timeout') }, 60_000)
    t.ok((timeout.redelivered_after_s as number) >= 9, `redelivered by the client's 10 s ack timeout (after ${String(timeout.redelivered_after_s)} s)`)
    const dlq = await scenario(t, 'dead_letter', { url: url(nonLeader('dead-letter')), topic: ns('dead-letter'), dlq: ns('dead-letter-DLQ') })
    t.same(dlq.redelivery_counts, [0, 1, 2], 'delivered three times, then moved to the dead-letter topic')
    t.same(dlq.dead_letter_properties, ['ORIGIN_MESSAGE_ID', 'REAL_TOPIC', 'p'])
  })

  t.test('readers and seek', async (t) => {
    t.same(await scenario(t, 'readers', { url: url(nonLeader('readers')), topic: ns('readers') }), { earliest: 10, from_id_first: 'r5' }, 'from earliest, latest, a message id (exclusive and inclusive) and a deserialized id')
    const seek = await scenario(t, 'seek', { url: url(nonLeader('seek')), topic: ns('seek') })
    t.same(seek, { after_id: 'k4', after_time: 'k6' }, 'seek by message id (the C++ client skips the id itself) and by publish time')
  })

  t.test('a string schema', async (t) => {
    t.same(await scenario(t, 'string_schema', { url: url(nonLeader('string-schema')), topic: ns('string-schema') }), { value: 'héllo' })
  })

  t.test('a regex subscription finds the namespace\'s topics', async (t) => {
    const topics = [ns('pattern-a'), ns('pattern-b')]
    const result = await scenario(t, 'pattern_subscription', { url: url(nonLeader('pattern-a')), pattern: 'persistent://public/default/pattern-.*', topics })
    t.equal(result.topics, 2, 'one message from each matching topic')
  })

  t.test('pulsar-flex round trip', async (t) => {
    const run = await runFlex(`127.0.0.1:${port(nonLeader('flex'))}`, ns('flex'), 10)
    t.ok(run.ok, 'pulsar-flex producer and consumer', run.ok ? {} : { output: run.output })
    const received = (run.result?.received ?? []) as Array<{ payload: string, properties: Record<string, string> }>
    t.same(received.map((m) => m.payload), Array.from({ length: 10 }, (_, i) => `flex-${i}`), 'single messages then a batch, in order')
    t.same(received.map((m) => m.properties.i), Array.from({ length: 10 }, (_, i) => String(i)))
  })

  t.test('@blazar/client and the Python client read each other\'s messages', async (t) => {
    const blazar = await Client.create({ serviceUrl: cluster.addresses[nonLeader('blazar-to-python')] as string })
    t.teardown(async () => { await blazar.close() })
    const producer = await blazar.createProducer({ topic: ns('blazar-to-python') })
    const sent = []
    for (let i = 0; i < 5; i++) {
      sent.push(await producer.send({ data: `blazar-${i}`, key: 'blazar-key', properties: { from: 'blazar', i: String(i) }, eventTime: 1_700_000_000_000 + i }))
    }
    const consumed = await scenario(t, 'consume', { url: url(nonLeader('blazar-to-python')), topic: ns('blazar-to-python'), subscription: 'py', count: 5 })
    const messages = (consumed.messages ?? []) as Array<{ data: string, key: string, properties: Record<string, string>, event_time: number, publish_time: number, entry: number }>
    t.same(messages.map((m) => m.data), sent.map((_, i) => `blazar-${i}`), 'payloads in order')
    t.ok(messages.every((m, i) => m.key === 'blazar-key' && m.properties.from === 'blazar' && m.properties.i === String(i) && m.event_time === 1_700_000_000_000 + i), 'key, properties and event time intact')
    t.ok(messages.every((m) => m.publish_time > 0), 'publish time set')
    t.same(messages.map((m) => m.entry), sent.map((id) => id.index), 'the Python client\'s entry ids are the Raft indexes @blazar/client got')

    const produced = await scenario(t, 'produce', { url: url(nonLeader('python-to-blazar')), topic: ns('python-to-blazar'), count: 5 })
    const consumer = await blazar.subscribe({ topic: ns('python-to-blazar'), subscription: 'blazar', subscriptionInitialPosition: 'Earliest' })
    const received = []
    for (let i = 0; i < 5; i++) {
      const message = await consumer.receive(10_000)
      received.push(message)
      await consumer.acknowledge(message)
    }
    t.same(received.map((m) => new TextDecoder().decode(m.data)), Array.from({ length: 5 }, (_, i) => `py-${i}`))
    t.ok(received.every((m, i) => m.key === 'py-key' && m.properties.from === 'python' && m.eventTime === 1_700_000_000_000 + i && m.publishTime > 0), 'key, properties, event and publish time intact')
    t.same(received.map((m) => m.messageId.index), produced.entries, 'the same ids, in order')
  })

  t.test('bad input closes only that connection, is counted, and the node serves on', async (t) => {
    const via = nonLeader('my-topic')
    const before = await pulsarCounters(cluster, via)
    const cases: Array<[string, Uint8Array]> = [
      ['garbage', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['a command before CONNECT', frame(Uint8Array.of(0x08, 18, 0x92, 0x01, 0x00))],
      ['an oversized frame', Uint8Array.of(0x7f, 0, 0, 0, 0, 0, 0, 0)]
    ]
    for (const [what, bytes] of cases) t.ok(await closedAfter(port(via), bytes), `${what}: the node closes the connection`)
    const after = await pulsarCounters(cluster, via)
    const rejected = (counters: Record<string, unknown>): number => Object.values(counters.badInput as Record<string, number>).reduce((a, b) => a + b, 0)
    t.equal(rejected(after) - rejected(before), cases.length, 'each counted as bad input')
    t.equal((await scenario(t, 'seeds_example', { url: url(via), topic: ns('my-topic'), subscription: 'after-bad-input' })).received, 10, 'the node still serves Pulsar clients')
  })
})

/** Each topic's partition leaders (node indexes), once every partition has one and none changed for LEADERS_SETTLED_MS. */
async function settledLeaders (admin: Client, cluster: TestCluster, topics: string[]): Promise<Map<string, number[]>> {
  const deadline = Date.now() + 60_000
  let last = ''
  let since = Date.now()
  for (;;) {
    const leaders = new Map<string, number[]>()
    for (const topic of topics) leaders.set(topic, (await admin.admin.topics.lookup(topic)).leaders.map((row) => cluster.indexOf(row.leader ?? '')))
    const known = [...leaders.values()].every((of) => of.every((i) => i >= 0))
    const snapshot = JSON.stringify([...leaders])
    if (!known || snapshot !== last) {
      last = snapshot
      since = Date.now()
    } else if (Date.now() - since >= LEADERS_SETTLED_MS) {
      return leaders
    }
    if (Date.now() > deadline) throw new Error('partition leaders did not settle within 60 s')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function pulsarCounters (cluster: TestCluster, index: number): Promise<Record<string, unknown>> {
  const status = await (await fetch(`http://127.0.0.1:${cluster.nodes[index]?.httpPort}/status`)).json() as { pulsar: Record<string, unknown> }
  return status.pulsar
}

/** `[totalSize][commandSize][command]` around an encoded BaseCommand. */
function frame (command: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + command.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, 4 + command.length)
  view.setUint32(4, command.length)
  out.set(command, 8)
  return out
}

/** Sends `bytes` on a fresh connection; true once the node closes it (within 10 s). */
async function closedAfter (port: number, bytes: Uint8Array): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(bytes) })
    const timer = setTimeout(() => { socket.destroy(); resolve(false) }, 10_000)
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve(true) })
  })
}

async function runFlex (server: string, topic: string, count: number): Promise<{ ok: boolean, result: Record<string, unknown> | null, output: string }> {
  const script = fileURLToPath(new URL('./pulsar/flex-round-trip.cjs', import.meta.url))
  const child = spawn(process.execPath, [script, server, topic, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const code = await new Promise<number | null>((resolve) => { child.on('close', resolve) })
  const line = output.split('\n').find((l) => l.startsWith('RESULT '))
  return { ok: code === 0 && line !== undefined, result: line === undefined ? null : JSON.parse(line.slice(7)) as Record<string, unknown>, output }
}
