// The admin REST API (/admin/v2) on a 3-process cluster: every endpoint and the status codes
// Pulsar answers (204/200, 400, 404, 405, 409, 412), any node serving (writes are made through
// one node and read through another), stats after messages were published and consumed, and
// the OpenAPI document generated from the route schemas.
import t from 'tap'
import { Client } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'

interface PulsarStats {
  msgInCounter: number
  msgRateIn: number
  msgThroughputIn: number
  msgRateOut: number
  storageSize: number
  backlogSize: number
  publishers: unknown[]
  subscriptions: Record<string, { msgBacklog: number, type: string, consumers: unknown[] }>
}
interface InternalStats {
  raft: { term: number, commitIndex: number, appliedIndex: number, voters: string[], replicas: unknown[] }
  cursors: Record<string, unknown>
}
interface PartitionedStats { metadata: unknown, partitions: Record<string, unknown> }

t.test('admin REST API', async (t) => {
  const cluster = await startTestCluster('admin-rest')
  const client = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await client.close()
    await cluster.stop()
  })
  const base = (i: number): string => `http://127.0.0.1:${cluster.nodes[i]!.httpPort}/admin/v2`
  const call = async (i: number, method: string, path: string, body?: unknown): Promise<{ status: number, json: unknown, text: string, headers: Headers }> => {
    const response = await fetch(`${base(i)}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    let json: unknown
    try { json = JSON.parse(text) } catch { json = undefined }
    return { status: response.status, json, text, headers: response.headers }
  }
  const expect = async (status: number, i: number, method: string, path: string, body?: unknown): Promise<unknown> => {
    const answer = await call(i, method, path, body)
    t.equal(answer.status, status, `${method} ${path} on node${i + 1} answers ${status}${answer.status !== status ? ` (got ${answer.text})` : ''}`)
    if (status >= 400) t.match(answer.json, { reason: String }, `${method} ${path}: the error is {"reason": ...}`)
    return answer.json
  }

  t.test('clusters and brokers', async (t) => {
    t.same(await expect(200, 0, 'GET', '/clusters'), ['blazar'])
    t.match(await expect(200, 1, 'GET', '/clusters/blazar'), { serviceUrl: String })
    await expect(404, 1, 'GET', '/clusters/elsewhere')
    t.equal((await call(2, 'GET', '/brokers/health')).text, 'ok')
    t.equal(((await expect(200, 0, 'GET', '/brokers/blazar')) as string[]).length, 3, 'the three nodes')
    await expect(404, 0, 'GET', '/brokers/elsewhere')
    await expect(404, 0, 'GET', '/no/such/path')
  })

  t.test('tenants', async (t) => {
    await expect(204, 0, 'PUT', '/tenants/acme', { adminRoles: ['ops'], allowedClusters: ['blazar'] })
    await expect(409, 1, 'PUT', '/tenants/acme', { adminRoles: [], allowedClusters: [] })
    await expect(400, 1, 'PUT', '/tenants/bad%20name', {})
    t.same(await expect(200, 2, 'GET', '/tenants/acme'), { adminRoles: ['ops'], allowedClusters: ['blazar'] })
    await expect(204, 2, 'POST', '/tenants/acme', { adminRoles: ['ops', 'dev'], allowedClusters: ['blazar'] })
    t.same(await expect(200, 0, 'GET', '/tenants/acme'), { adminRoles: ['ops', 'dev'], allowedClusters: ['blazar'] })
    await expect(404, 0, 'GET', '/tenants/nobody')
    await expect(404, 0, 'POST', '/tenants/nobody', {})
    t.ok(((await expect(200, 1, 'GET', '/tenants')) as string[]).includes('acme'))
    await expect(400, 0, 'PUT', '/tenants/x', { adminRoles: { not: 'a list' } })
  })

  t.test('namespaces and policies', async (t) => {
    await expect(204, 0, 'PUT', '/namespaces/acme/orders', { retention_policies: { retentionTimeInMinutes: 60, retentionSizeInMB: 10 } })
    await expect(409, 1, 'PUT', '/namespaces/acme/orders')
    await expect(404, 1, 'PUT', '/namespaces/nobody/orders')
    await expect(404, 1, 'GET', '/namespaces/nobody')
    t.same(await expect(200, 2, 'GET', '/namespaces/acme'), ['acme/orders'])
    t.match(await expect(200, 2, 'GET', '/namespaces/acme/orders'), { retention_policies: { retentionTimeInMinutes: 60, retentionSizeInMB: 10 }, deduplicationEnabled: false, persistence: { bookkeeperEnsemble: 3 } })
    t.same(await expect(200, 0, 'GET', '/namespaces/acme/orders/retention'), { retentionTimeInMinutes: 60, retentionSizeInMB: 10 })
    await expect(204, 1, 'POST', '/namespaces/acme/orders/retention', { retentionTimeInMinutes: -1, retentionSizeInMB: -1 })
    t.same(await expect(200, 2, 'GET', '/namespaces/acme/orders/retention'), { retentionTimeInMinutes: -1, retentionSizeInMB: -1 })
    await expect(400, 1, 'POST', '/namespaces/acme/orders/retention', { retentionTimeInMinutes: 'long' })
    await expect(204, 0, 'POST', '/namespaces/acme/orders/deduplication', true)
    t.equal(await expect(200, 1, 'GET', '/namespaces/acme/orders/deduplication'), true)
    await expect(204, 1, 'DELETE', '/namespaces/acme/orders/deduplication')
    t.equal(await expect(200, 2, 'GET', '/namespaces/acme/orders/deduplication'), false)
    await expect(204, 0, 'POST', '/namespaces/acme/orders/autoTopicCreation', { allowAutoTopicCreation: true, topicType: 'non-partitioned' })
    t.match(await expect(200, 1, 'GET', '/namespaces/acme/orders/autoTopicCreation'), { allowAutoTopicCreation: true })
    await expect(405, 1, 'POST', '/namespaces/acme/orders/autoTopicCreation', { allowAutoTopicCreation: true, topicType: 'partitioned' })
    await expect(204, 2, 'DELETE', '/namespaces/acme/orders/autoTopicCreation')
    t.match(await expect(200, 2, 'GET', '/namespaces/acme/orders/persistence'), { bookkeeperEnsemble: 3, bookkeeperWriteQuorum: 3, bookkeeperAckQuorum: 2 })
    await expect(412, 0, 'POST', '/namespaces/acme/orders/persistence', { bookkeeperEnsemble: 3, bookkeeperWriteQuorum: 2, bookkeeperAckQuorum: 2 })
    await expect(204, 0, 'POST', '/namespaces/acme/orders/persistence', { bookkeeperEnsemble: 3, bookkeeperWriteQuorum: 3, bookkeeperAckQuorum: 2 })
    await expect(204, 0, 'POST', '/namespaces/acme/orders/maxMessageSize', 1048576)
    t.equal(await expect(200, 1, 'GET', '/namespaces/acme/orders/maxMessageSize'), 1048576)
    await expect(204, 0, 'POST', '/namespaces/acme/orders/messageTTL', 60)
    t.equal(await expect(200, 1, 'GET', '/namespaces/acme/orders/messageTTL'), 60, 'message TTL and backlog quotas: test/retention-quotas.test.ts')
    await expect(204, 2, 'DELETE', '/namespaces/acme/orders/messageTTL')
    await expect(404, 0, 'GET', '/namespaces/acme/nothing/retention')
  })

  t.test('topics, stats and subscriptions', async (t) => {
    const path = '/persistent/acme/orders'
    await expect(204, 0, 'PUT', `${path}/single`)
    await expect(409, 1, 'PUT', `${path}/single`)
    await expect(204, 1, 'PUT', `${path}/parts/partitions`, 2)
    await expect(409, 2, 'PUT', `${path}/parts/partitions`, { partitions: 2, properties: null })
    await expect(400, 2, 'PUT', `${path}/other/partitions`, 0)
    await expect(404, 2, 'PUT', '/persistent/acme/nothing/t')
    t.same(await expect(200, 2, 'GET', `${path}/parts/partitions`), { partitions: 2 })
    t.same(await expect(200, 0, 'GET', `${path}/single/partitions`), { partitions: 0 })
    await expect(404, 0, 'GET', `${path}/missing/partitions`)
    await expect(204, 0, 'POST', `${path}/parts/partitions`, 3)
    await expect(412, 0, 'POST', `${path}/parts/partitions`, 2)
    await expect(400, 0, 'POST', `${path}/single/partitions`, 2)
    t.same(await expect(200, 1, 'GET', `${path}/partitioned`), ['persistent://acme/orders/parts'])
    t.same(await expect(200, 1, 'GET', path), ['persistent://acme/orders/parts-partition-0', 'persistent://acme/orders/parts-partition-1', 'persistent://acme/orders/parts-partition-2', 'persistent://acme/orders/single'])
    t.same(await expect(200, 2, 'GET', '/namespaces/acme/orders/topics'), await expect(200, 1, 'GET', path))

    await expect(204, 0, 'PUT', `${path}/single/subscription/audit`, { ledgerId: -1, entryId: -1 })
    await expect(409, 1, 'PUT', `${path}/single/subscription/audit`)
    const producer = await client.createProducer({ topic: 'persistent://acme/orders/single', batchingEnabled: false })
    for (let i = 0; i < 10; i++) await producer.send({ data: new TextEncoder().encode(`m${i}`), properties: { n: String(i) } })
    await producer.close()
    const consumer = await client.subscribe({ topic: 'persistent://acme/orders/single', subscription: 'live', subscriptionType: 'Shared', subscriptionInitialPosition: 'Earliest' })
    for (let i = 0; i < 4; i++) await consumer.acknowledge(await consumer.receive())

    const stats = await expect(200, 2, 'GET', `${path}/single/stats`) as PulsarStats
    t.equal(stats.msgInCounter, 10)
    t.ok(stats.msgRateIn > 0, `msgRateIn ${stats.msgRateIn} over the window`)
    t.ok(stats.msgThroughputIn > 0)
    t.ok(stats.msgRateOut > 0, `msgRateOut ${stats.msgRateOut}`)
    t.ok(stats.storageSize > 0)
    t.ok(stats.backlogSize > 0)
    t.equal(stats.subscriptions.audit.msgBacklog, 10)
    t.equal(stats.subscriptions.live.type, 'Shared')
    t.equal(stats.subscriptions.live.consumers.length, 1)
    t.match(stats.subscriptions.live.consumers[0], { availablePermits: Number, unackedMessages: Number, blockedConsumerOnUnackedMsgs: false })
    t.equal(stats.publishers.length, 1, 'the producer published within the window')
    t.same((await expect(200, 1, 'GET', `${path}/single/subscriptions`) as string[]).sort(), ['audit', 'live'])

    const peek = await call(1, 'GET', `${path}/single/subscription/audit/position/2`)
    t.equal(peek.status, 200)
    t.equal(peek.text, 'm1', 'the 2nd unacknowledged message')
    t.match(peek.headers.get('x-pulsar-message-id'), /^0:\d+:-1:0$/)
    t.same(JSON.parse(peek.headers.get('x-pulsar-property') ?? '{}'), { n: '1' })
    t.ok(peek.headers.get('x-pulsar-publish-time'))
    await expect(400, 1, 'GET', `${path}/single/subscription/audit/position/11`)
    await expect(400, 1, 'GET', `${path}/single/subscription/audit/position/0`)
    await expect(404, 1, 'GET', `${path}/single/subscription/nobody/position/1`)

    const backlog = async (): Promise<number> => ((await expect(200, 0, 'GET', `${path}/single/stats`)) as PulsarStats).subscriptions.audit.msgBacklog
    await expect(204, 0, 'POST', `${path}/single/subscription/audit/skip/3`)
    t.equal(await backlog(), 7, 'skip/3')
    await expect(400, 0, 'POST', `${path}/single/subscription/audit/skip/0`)
    const single = 'persistent://acme/orders/single'
    t.equal((await client.admin.topics.stats(single)).subscriptions.find((s) => s.name === 'audit')?.backlog, 7, '@blazar/client sees the REST skip')
    await client.admin.subscriptions.move(single, 'audit', { to: 'skip', messages: 2 })
    t.equal(await backlog(), 5, 'REST sees the @blazar/client skip')
    await expect(204, 2, 'POST', `${path}/single/subscription/audit/skip_all`)
    t.equal(await backlog(), 0, 'skip_all')
    await expect(204, 1, 'POST', `${path}/single/subscription/audit/resetcursor/0`)
    t.equal(await backlog(), 10, 'resetcursor to time 0: everything again')
    const last = await expect(200, 1, 'GET', `${path}/single/lastMessageId`) as { ledgerId: number, entryId: number }
    t.equal(last.ledgerId, 0)
    await expect(204, 2, 'POST', `${path}/single/subscription/audit/resetcursor`, { ledgerId: 0, entryId: last.entryId })
    t.equal(await backlog(), 1, 'reset to the last message id')
    await expect(400, 2, 'POST', `${path}/single/subscription/audit/resetcursor`, { nonsense: true })
    await expect(204, 0, 'POST', `${path}/single/subscription/audit/expireMessages/0`)
    t.equal(await backlog(), 0, 'expireMessages/0 passes everything published before now')
    await expect(404, 0, 'POST', `${path}/single/subscription/nobody/skip_all`)

    const internal = await expect(200, 1, 'GET', `${path}/single/internalStats`) as InternalStats
    t.ok(internal.raft.term >= 1)
    t.ok(internal.raft.commitIndex > 0 && internal.raft.appliedIndex > 0, 'commit and applied indexes')
    t.equal(internal.raft.voters.length, 3)
    t.equal(internal.raft.replicas.length, 3)
    t.match(internal.raft.replicas[0], { node: String })
    t.ok(internal.cursors.audit)
    await expect(405, 1, 'GET', `${path}/parts/internalStats`)
    await expect(405, 1, 'GET', `${path}/parts/lastMessageId`)
    await expect(404, 1, 'GET', `${path}/missing/stats`)

    const partitioned = await expect(200, 2, 'GET', `${path}/parts/partitioned-stats?perPartition=true`) as PartitionedStats
    t.same(partitioned.metadata, { partitions: 3 })
    t.equal(Object.keys(partitioned.partitions).length, 3)
    const merged = await expect(200, 2, 'GET', `${path}/parts/partitioned-stats?perPartition=false`) as PartitionedStats
    t.same(merged.partitions, {})
    await expect(404, 2, 'GET', `${path}/single/partitioned-stats`)

    await expect(412, 0, 'DELETE', `${path}/single/subscription/live`)
    await expect(204, 0, 'DELETE', `${path}/single/subscription/live?force=true`)
    await expect(404, 0, 'DELETE', `${path}/single/subscription/live`)
    await consumer.close().catch(() => {})
    await expect(204, 1, 'DELETE', `${path}/single/subscription/audit`)

    await expect(409, 0, 'DELETE', '/namespaces/acme/orders')
    await expect(204, 0, 'DELETE', `${path}/single?force=true`)
    await expect(204, 1, 'DELETE', `${path}/parts/partitions?force=true`)
    await expect(404, 1, 'DELETE', `${path}/parts/partitions`)
    await expect(409, 2, 'DELETE', '/tenants/acme')
    await expect(204, 2, 'DELETE', '/namespaces/acme/orders')
    await expect(404, 2, 'DELETE', '/namespaces/acme/orders')
    await expect(204, 0, 'DELETE', '/tenants/acme')
    await expect(404, 0, 'DELETE', '/tenants/acme')
  })

  t.test('the OpenAPI document is generated from the route schemas', async (t) => {
    const doc = await expect(200, 0, 'GET', '/openapi.json') as { openapi: string, paths: Record<string, Record<string, unknown>> }
    t.match(doc.openapi, /^3\./)
    t.ok(doc.paths['/admin/v2/tenants/{tenant}']?.put, 'PUT /tenants/{tenant}')
    t.ok(doc.paths['/admin/v2/persistent/{tenant}/{namespace}/{topic}/subscription/{subscription}/skip/{n}']?.post)
    t.ok(doc.paths['/admin/v2/persistent/{tenant}/{namespace}/{topic}/partitions']?.put)
    t.notOk(doc.paths['/metrics'], 'only the admin API is documented')
  })
})
