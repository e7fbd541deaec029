// The admin API: one request per call, results as the node sent them, errors typed.
import t from 'tap'
import { UnknownTopicError } from '@blazar/protocol'
import { Client, ConnectionFailedError } from '../src/index.ts'
import { FakeCluster } from './fixtures/fake-cluster.ts'
import { startClient } from './fixtures/helpers.ts'

t.test('tenants, namespaces, topics and cluster status', async (t) => {
  const cluster = await FakeCluster.start(t, 2)
  const client = await startClient(t, cluster)
  await client.admin.tenants.create('acme')
  t.same((await client.admin.tenants.list()).sort(), ['acme', 'public'])
  await client.admin.namespaces.create('acme/prod', { deduplication: true })
  t.match(cluster.requestsOf('namespaces-create')[0].body, { namespace: 'acme/prod', policies: { deduplication: true } })
  t.same(await client.admin.namespaces.list('acme'), ['acme/prod'])
  await client.admin.namespaces.setPolicies('acme/prod', { retentionTimeMinutes: 60 })
  await client.admin.topics.create('acme/prod/events', 4)
  t.same(await client.admin.topics.list('acme/prod'), ['persistent://acme/prod/events'])
  t.match(await client.admin.topics.stats('acme/prod/events'), { partitions: 4, messagesIn: 0 })
  const status = await client.admin.cluster.status()
  t.equal(status.nodes.length, 2)
  t.equal(status.groups.length, 8, 'one row per replica')
  await client.admin.topics.delete('acme/prod/events', { force: true })
  t.match(cluster.requestsOf('topics-delete')[0].body, { force: true })
  await t.rejects(client.admin.topics.stats('acme/prod/events'), UnknownTopicError)
  await client.admin.namespaces.delete('acme/prod')
  await client.admin.tenants.delete('acme')
  t.same(await client.admin.tenants.list(), ['public'])
})

t.test('no reachable node is a ConnectionFailedError', async (t) => {
  const cluster = await FakeCluster.start(t)
  const address = cluster.address(0)
  await cluster.stopNode(0)
  await t.rejects(Client.create({ serviceUrl: address }), ConnectionFailedError)
})
