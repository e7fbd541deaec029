// Metadata voters are re-chosen when nodes go: on a 4-node cluster (3 voters, 1 learner), a
// voter killed with SIGKILL is marked down by the metadata leader after NODE_DOWN_AFTER_MS, the
// learner is promoted and the dead node removed from the voters; metadata writes keep working
// throughout, and the restarted node is marked active and rejoins as a learner.
import t from 'tap'
import { Client, type ClusterStatus } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'
import { waitForStatus } from './support/cluster-wait.ts'

const WAIT_MS = 40_000

const waitFor = async (client: Client, what: string, check: (status: ClusterStatus) => boolean): Promise<ClusterStatus> => await waitForStatus(client, what, check, WAIT_MS)

const metaVoters = (status: ClusterStatus): string[] => [...(status.groups.find((g) => g.group === 'meta' && g.role === 'leader')?.voters ?? [])].sort()

t.test('a dead metadata voter is replaced by the spare node', async (t) => {
  const cluster = await startTestCluster('voters', 4)
  t.teardown(async () => { await cluster.stop() })
  const ids = cluster.addresses.map((address) => address.split('/p2p/')[1] as string)
  const client = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => { await client.close() })
  const initial = await waitFor(client, 'four nodes, three metadata voters', (s) => s.nodes.length === 4 && metaVoters(s).length === 3)
  const voters = metaVoters(initial)
  const spare = ids.find((id) => !voters.includes(id)) as string
  const leader = initial.leader as string
  const victim = voters.find((id) => id !== leader) as string
  t.ok(spare !== undefined && victim !== undefined, 'one spare, one non-leader voter to kill')
  await cluster.kill9(cluster.indexOf(victim))
  const replaced = await waitFor(client, 'the victim is down and replaced', (s) =>
    s.nodes.find((n) => n.id === victim)?.state === 'down' && metaVoters(s).includes(spare) && !metaVoters(s).includes(victim) && metaVoters(s).length === 3)
  t.same(metaVoters(replaced), [...voters.filter((id) => id !== victim), spare].sort(), 'the spare took the dead voter\'s place')
  await client.admin.tenants.create('after-failure')
  t.ok((await client.admin.tenants.list()).includes('after-failure'), 'metadata writes keep working')
  await cluster.restart(cluster.indexOf(victim))
  const back = await waitFor(client, 'the victim is active again', (s) => s.nodes.find((n) => n.id === victim)?.state === 'active' &&
    s.groups.some((g) => g.group === 'meta' && g.role === 'leader' && g.replicas.includes(victim)))
  t.notOk(metaVoters(back).includes(victim), 'it rejoins as a learner while three voters are healthy')
})
