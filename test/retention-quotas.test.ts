// Retention, message TTL and backlog quotas on a 3-process cluster (short check intervals and
// 64 KiB segments through BLAZAR_* settings): the namespace REST paths in Pulsar's shapes
// (messageTTL, backlogQuotaMap, backlogQuota) and the CLI commands, a send refused with
// PRODUCER_BLOCKED_QUOTA_EXCEEDED over a producer_exception quota, and the disk usage of a
// partition's data falling on every replica once its acknowledged messages are beyond retention.
import { execFile } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { Client } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'
import { pulsarPython, runScenario } from './pulsar/python-runner.ts'

const CLI_MAIN = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url))
const CLI_TIMEOUT_MS = 30_000

const SEGMENT_BYTES = 64 * 1024
const WAIT_MS = 30_000

/**
 * Bytes of every file under `dir`. The node deletes segments while this reads (that is what
 * the test waits for): a file gone between the listing and its stat counts as 0 bytes.
 */
function sizeOf (dir: string): number {
  let bytes = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    try {
      bytes += entry.isDirectory() ? sizeOf(path) : statSync(path).size
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  return bytes
}

/** Polls `condition` until it holds or the deadline passes (then fails with `what`). */
async function waitFor (what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('retention, message TTL and backlog quotas', async (t) => {
  Object.assign(process.env, {
    BLAZAR_SEGMENT_BYTES: String(SEGMENT_BYTES),
    BLAZAR_RETENTION_CHECK_INTERVAL_MS: '500',
    BLAZAR_MESSAGE_EXPIRY_CHECK_INTERVAL_MS: '500',
    BLAZAR_BACKLOG_QUOTA_CHECK_INTERVAL_MS: '500'
  })
  const cluster = await startTestCluster('retention')
  const client = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await client.close()
    await cluster.stop()
  })
  const base = (i: number): string => `http://127.0.0.1:${cluster.nodes[i]!.httpPort}/admin/v2`
  const expect = async (status: number, i: number, method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${base(i)}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    t.equal(response.status, status, `${method} ${path} on node${i + 1} answers ${status}${response.status !== status ? ` (got ${text})` : ''}`)
    return text.length > 0 ? JSON.parse(text) : undefined
  }
  /** `blazar namespaces ...` as a process: its stdout lines. */
  const cli = async (...args: string[]): Promise<string[]> => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI_MAIN, 'namespaces', ...args], {
      env: { ...process.env, BLAZAR_SERVICE_URL: cluster.addresses[0] }, timeout: CLI_TIMEOUT_MS
    })
    return stdout.split('\n').filter((line) => line.length > 0)
  }
  await client.admin.tenants.create('acme')
  await client.admin.namespaces.create('acme/ops')

  t.test('REST: messageTTL, backlogQuotaMap and backlogQuota in Pulsar\'s shapes', async (t) => {
    const ns = '/namespaces/acme/ops'
    t.equal(await expect(200, 0, 'GET', `${ns}/messageTTL`), 0, 'no TTL by default')
    await expect(204, 0, 'POST', `${ns}/messageTTL`, 3600)
    t.equal(await expect(200, 1, 'GET', `${ns}/messageTTL`), 3600)
    await expect(412, 1, 'POST', `${ns}/messageTTL`, -1)
    t.match(await expect(200, 2, 'GET', ns), { message_ttl_in_seconds: 3600, backlog_quota_map: {} })
    await expect(204, 2, 'DELETE', `${ns}/messageTTL`)
    t.equal(await expect(200, 0, 'GET', `${ns}/messageTTL`), 0)

    t.same(await expect(200, 0, 'GET', `${ns}/backlogQuotaMap`), {}, 'no quota by default')
    await expect(204, 0, 'POST', `${ns}/backlogQuota`, { limitSize: 10_485_760, limitTime: -1, policy: 'producer_request_hold' })
    await expect(204, 1, 'POST', `${ns}/backlogQuota?backlogQuotaType=message_age`, { limitTime: 600, policy: 'consumer_backlog_eviction' })
    t.same(await expect(200, 2, 'GET', `${ns}/backlogQuotaMap`), {
      destination_storage: { limitSize: 10_485_760, limitTime: -1, policy: 'producer_request_hold' },
      message_age: { limitSize: -1, limitTime: 600, policy: 'consumer_backlog_eviction' }
    })
    await expect(400, 0, 'POST', `${ns}/backlogQuota`, { limitSize: 1, policy: 'drop_everything' })
    await expect(204, 0, 'DELETE', `${ns}/backlogQuota?backlogQuotaType=message_age`)
    await expect(204, 0, 'DELETE', `${ns}/backlogQuota`)
    t.same(await expect(200, 1, 'GET', `${ns}/backlogQuotaMap`), {})
  })

  t.test('CLI: set and get the message TTL, set, get and remove backlog quotas', async (t) => {
    t.same(await cli('set-message-ttl', 'acme/ops', '120'), ['namespace acme/ops message TTL set to 120 s'])
    t.same(await cli('get-message-ttl', 'acme/ops'), ['120'])
    await expect(204, 0, 'DELETE', '/namespaces/acme/ops/messageTTL')
    t.same(await cli('set-backlog-quota', 'acme/ops', '--limit', '2M', '--policy', 'producer_exception'), ['namespace acme/ops destination_storage backlog quota set: 2097152 bytes, producer_exception'])
    await expect(204, 0, 'POST', '/namespaces/acme/ops/backlogQuota?backlogQuotaType=message_age', { limitTime: 60, policy: 'consumer_backlog_eviction' })
    t.same(await cli('get-backlog-quotas', 'acme/ops'), [
      'destination_storage: limitSize 2097152 bytes, limitTime -1 s, producer_exception',
      'message_age: limitSize -1 bytes, limitTime 60 s, consumer_backlog_eviction'
    ])
    t.same(await cli('remove-backlog-quota', 'acme/ops', '--type', 'message_age'), ['namespace acme/ops message_age backlog quota removed'])
    t.same(Object.keys(await expect(200, 1, 'GET', '/namespaces/acme/ops/backlogQuotaMap') as object), ['destination_storage'])
    await expect(204, 0, 'DELETE', '/namespaces/acme/ops/backlogQuota')
  })

  t.test('producer_exception: a send over the quota is refused with PRODUCER_BLOCKED_QUOTA_EXCEEDED', async (t) => {
    const topic = 'persistent://acme/ops/guarded'
    await client.admin.topics.create(topic, 0)
    await expect(204, 0, 'PUT', '/persistent/acme/ops/guarded/subscription/slow', { ledgerId: -1, entryId: -1 })
    await expect(204, 0, 'POST', '/namespaces/acme/ops/backlogQuota', { limitSize: 4096, policy: 'producer_exception' })
    const producer = await client.createProducer({ topic, batchingEnabled: false })
    t.teardown(async () => { await producer.close() })
    let refused: unknown
    for (let i = 0; i < 100 && refused === undefined; i++) {
      await producer.send({ data: new Uint8Array(1024) }).catch((error: unknown) => { refused = error })
    }
    t.match(refused, { code: 'PRODUCER_BLOCKED_QUOTA_EXCEEDED' }, 'the send past 4 KiB of backlog is refused')
    await expect(204, 1, 'POST', '/persistent/acme/ops/guarded/subscription/slow/skip_all')
    await waitFor('the send to be accepted once the backlog is cleared', async () => await producer.send({ data: new Uint8Array(8) }).then(() => true, () => false))
    await expect(204, 1, 'DELETE', '/namespaces/acme/ops/backlogQuota')
  })

  t.test('producer_exception through Pulsar\'s Python client: ProducerBlockedQuotaExceededException', async (t) => {
    const topic = 'persistent://acme/ops/guarded-pulsar'
    await client.admin.topics.create(topic, 0)
    await expect(204, 0, 'PUT', '/persistent/acme/ops/guarded-pulsar/subscription/slow', { ledgerId: -1, entryId: -1 })
    await expect(204, 0, 'POST', '/namespaces/acme/ops/backlogQuota', { limitSize: 4096, policy: 'producer_exception' })
    const run = await runScenario(pulsarPython(), 'backlog_quota_exception', { url: `pulsar://127.0.0.1:${cluster.nodes[1]!.pulsarPort}`, topic, max: 100 }, 120_000)
    t.ok(run.ok, run.output)
    t.match(run.result, { error: 'ProducerBlockedQuotaExceededException' }, `the client raised Pulsar's exception after ${String(run.result?.sent)} sends`)
    t.ok((run.result?.sent as number) >= 4, 'the sends under the quota were stored')
    await expect(204, 1, 'DELETE', '/namespaces/acme/ops/backlogQuota')
  })

  t.test('disk usage of a partition falls once its acknowledged messages are beyond retention', async (t) => {
    await client.admin.namespaces.create('acme/disk', { retentionTimeMinutes: -1, retentionSizeMB: -1 })
    const topic = 'persistent://acme/disk/events'
    await client.admin.topics.create(topic, 0)
    await expect(204, 0, 'PUT', '/persistent/acme/disk/events/subscription/reader', { ledgerId: -1, entryId: -1 })
    const producer = await client.createProducer({ topic, batchingEnabled: false })
    const payload = new Uint8Array(16 * 1024).fill(7)
    for (let i = 0; i < 64; i++) await producer.send({ data: payload })
    await producer.close()
    const groupDirs = cluster.nodes.map((node) => {
      const groups = join(node.dir, 'raft', 'groups')
      const name = readdirSync(groups).find((entry) => decodeURIComponent(entry).endsWith('acme/disk/events'))
      if (name === undefined) throw new Error(`no group dir for ${topic} under ${groups}`)
      return join(groups, name)
    })
    await waitFor('1 MiB of messages on every replica\'s disk', () => groupDirs.every((dir) => sizeOf(dir) >= 64 * payload.length))
    const before = groupDirs.map(sizeOf)
    await expect(204, 1, 'POST', '/persistent/acme/disk/events/subscription/reader/skip_all')
    await expect(204, 2, 'POST', '/namespaces/acme/disk/retention', { retentionTimeInMinutes: 0, retentionSizeInMB: 0 })
    await waitFor('the partition\'s segments behind the trim point to be deleted on every replica', () => groupDirs.every((dir) => sizeOf(dir) < 4 * SEGMENT_BYTES))
    const after = groupDirs.map(sizeOf)
    t.comment(`partition data per replica before: ${before.join(', ')} bytes; after: ${after.join(', ')} bytes`)
    for (let i = 0; i < after.length; i++) t.ok(after[i]! < before[i]! / 4, `node${i + 1}: ${before[i]} → ${after[i]} bytes`)
  })
})
