// Force-recovery on real processes (issue 14): on a 5-node cluster, two of a partition's three
// replicas are killed for good (chosen so that the metadata group keeps its majority), the
// partition has no leader; `force-recover` rebuilds it from the surviving replica, which then
// leads alone and takes sends, and the placement actor grows it back to 3 voters on live nodes.
// Every message acknowledged before the kill (and replicated everywhere) is still there.
import t from 'tap'
import { Client, type ClusterStatus } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'
import { readIds, waitForStatus } from './support/cluster-wait.ts'

const TOPIC = 'persistent://public/default/recover'
const PARTITIONS = 5
const MESSAGES = 50
const WAIT_MS = 90_000

const waitFor = async (client: Client, what: string, check: (status: ClusterStatus) => boolean): Promise<ClusterStatus> => await waitForStatus(client, what, check, WAIT_MS)

const leaderRow = (status: ClusterStatus, group: string) => status.groups.find((g) => g.group === group && g.role === 'leader')

t.test('a partition that lost two of three replicas is rebuilt from the survivor and grows back', async (t) => {
  process.env.BLAZAR_RE_REPLICATION_DELAY_MS = '600000'
  const cluster = await startTestCluster('recover', 5)
  delete process.env.BLAZAR_RE_REPLICATION_DELAY_MS
  t.teardown(async () => { await cluster.stop() })
  const admin = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => { await admin.close() })
  await admin.admin.topics.create(TOPIC, PARTITIONS)
  const groups = Array.from({ length: PARTITIONS }, (_, p) => `${TOPIC}-partition-${p}`)
  const ready = await waitFor(admin, 'every partition has a leader', (s) => groups.every((g) => leaderRow(s, g) !== undefined))

  // Five nodes make five metadata voters: two dead keep its majority. The victims are two of
  // the partition's replicas, neither the metadata leader.
  const group = groups.find((g) => (leaderRow(ready, g)?.voters ?? []).filter((id) => id !== ready.leader).length >= 2) as string
  const replicas = [...(leaderRow(ready, group)?.voters ?? [])]
  const [lost1, second] = replicas.filter((id) => id !== ready.leader) as [string, string]
  const survivor = replicas.find((id) => id !== lost1 && id !== second) as string
  t.ok(group !== undefined && survivor !== undefined, `${group}: killing ${lost1.slice(-6)} and ${second.slice(-6)}, keeping ${survivor.slice(-6)}`)

  const producer = await admin.createProducer({ topic: group, batchingEnabled: false })
  const ids = await Promise.all(Array.from({ length: MESSAGES }, async (_, i) => (await producer.send({ data: `before-${i}` })).toString()))
  await producer.close()
  const lastBefore = (await waitFor(admin, 'every replica has applied the messages', (s) => {
    const rows = s.groups.filter((g) => g.group === group)
    return rows.length === 3 && rows.every((row) => row.appliedIndex === rows[0]?.appliedIndex)
  })).groups.find((g) => g.group === group)?.appliedIndex
  await cluster.kill9(cluster.indexOf(lost1))
  await cluster.kill9(cluster.indexOf(second))
  await waitFor(admin, `${group} has no leader`, (s) => leaderRow(s, group) === undefined)
  await t.rejects(admin.admin.topics.forceRecover(group, { survivor: lost1 }), { code: 'INVALID_ARGUMENT' }, 'a replica that does not answer cannot be the survivor')

  const recovered = await admin.admin.topics.forceRecover(group)
  t.equal(recovered.survivor, survivor, 'the surviving replica is chosen')
  t.ok(recovered.commitIndex >= (lastBefore ?? 0), `rebuilt at commit index ${recovered.commitIndex} (applied everywhere before the kill: ${lastBefore})`)
  await t.rejects(admin.admin.topics.forceRecover(group), { code: 'INVALID_ARGUMENT' }, 'refused once the partition has a leader')

  const after = await admin.createProducer({ topic: group, batchingEnabled: false })
  const sentAfter = (await after.send({ data: 'after' })).toString()
  await after.close()
  t.pass(`the rebuilt partition takes sends (${sentAfter})`)
  const live = cluster.addresses.map((address) => address.split('/p2p/')[1] as string).filter((id) => id !== lost1 && id !== second)
  const grown = await waitFor(admin, 'the partition is back at 3 voters on live nodes', (s) => {
    const voters = leaderRow(s, group)?.voters ?? []
    return voters.length === 3 && voters.every((id) => live.includes(id)) && !(s.moves ?? []).some((m) => m.group === group)
  })
  t.ok((leaderRow(grown, group)?.voters ?? []).includes(survivor), 'the survivor is one of them')

  const consumer = await admin.subscribe({ topic: group, subscription: 'audit', subscriptionInitialPosition: 'Earliest' })
  const seen = await readIds(consumer, new Set([...ids, sentAfter]), 30_000)
  t.same([...ids, sentAfter].filter((id) => !seen.has(id)), [], 'every message acknowledged before the kill, and the one after, is read back')
})
