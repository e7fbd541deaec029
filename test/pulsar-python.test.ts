// The official Pulsar Python client (pulsar-client, pinned) against a 3-process Blazar
// cluster on 127.0.0.1 through the nodes' Pulsar ports. Each scenario's topic is created
// first, so the test knows which node leads its partition; the client is given a node that
// does not lead it (the forwarding path), and the seeds' example runs through the leader too.
import t, { type Test } from 'tap'
import { Client } from '@blazar/client'
import { startTestCluster, type TestCluster } from './support/broker-nodes.ts'
import { pulsarPython, runScenario } from './pulsar/python-runner.ts'

const NAMESPACE = 'public/default'

t.test('the Python client produces and consumes through any node', async (t) => {
  const python = pulsarPython()
  const cluster = await startTestCluster('pulsar-python')
  const admin = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await admin.close()
    await cluster.stop()
  })
  await admin.admin.namespaces.setPolicies(NAMESPACE, { autoTopicCreation: true })
  const url = (index: number): string => `pulsar://127.0.0.1:${cluster.nodes[index]?.pulsarPort}`

  /** Creates `topic`, waits for its partitions' leaders and answers a node leading none of them (or the leader of the first). */
  async function topicVia (topic: string, partitions = 0, where: 'non-leader' | 'leader' = 'non-leader'): Promise<number> {
    await admin.admin.topics.create(topic, partitions)
    const leaders = await partitionLeaders(admin, cluster, topic)
    if (where === 'leader') return leaders[0] as number
    const other = [0, 1, 2].find((i) => !leaders.includes(i))
    return other ?? [0, 1, 2].find((i) => i !== leaders[0]) as number
  }

  async function scenario (t: Test, name: string, args: Record<string, unknown>, check: (result: Record<string, unknown>) => void): Promise<void> {
    const run = await runScenario(python, name, args)
    t.ok(run.ok, `${name} passes`, { output: run.output })
    if (run.result !== null) check(run.result)
  }

  t.test("the seeds' example through a node that does not lead the topic", async (t) => {
    const topic = 'persistent://public/default/my-topic'
    const via = await topicVia(topic)
    await scenario(t, 'seeds_example', { url: url(via), topic }, (result) => {
      t.equal(result.received, 10, 'ten messages, in order, with the ids the producer got')
    })
  })

  t.test("the seeds' example through the leader", async (t) => {
    const topic = 'persistent://public/default/my-topic-at-leader'
    const via = await topicVia(topic, 0, 'leader')
    await scenario(t, 'seeds_example', { url: url(via), topic }, (result) => {
      t.equal(result.received, 10)
    })
  })
})

/** The index of the node leading each partition of `topic` (0 partitions: one entry), once every partition has one. */
async function partitionLeaders (admin: Client, cluster: TestCluster, topic: string): Promise<number[]> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const lookup = await admin.admin.topics.lookup(topic)
    const leaders = lookup.leaders.map((row) => cluster.indexOf(row.leader ?? ''))
    if (leaders.every((i) => i >= 0)) return leaders
    if (Date.now() > deadline) throw new Error(`${topic} has partitions without a leader after 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
