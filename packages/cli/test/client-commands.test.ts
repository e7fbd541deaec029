// The client commands (produce, consume, topics, tenants, namespaces, cluster status) run
// in-process against the client package's fake cluster, with their output collected.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import t from 'tap'
import { FakeCluster } from '../../client/test/fixtures/fake-cluster.ts'
import { parseSize, registerCluster, registerNamespaces, registerTenants, registerTopics, statusRows } from '../src/commands/admin.ts'
import { resolveServiceUrl, type CommandIO } from '../src/commands/client-io.ts'
import { registerConsume } from '../src/commands/consume.ts'
import { registerProduce } from '../src/commands/produce.ts'

function collector (env: Record<string, string | undefined> = {}, cwd = process.cwd()): CommandIO & { lines: string[], errors: string[] } {
  const lines: string[] = []
  const errors: string[] = []
  return { lines, errors, env, cwd, out: (line) => { lines.push(line) }, err: (line) => { errors.push(line) } }
}

async function run (io: CommandIO, args: string[]): Promise<void> {
  const program = new Command().exitOverride()
  for (const register of [registerProduce, registerConsume, registerTopics, registerTenants, registerNamespaces, registerCluster]) register(program, io)
  await program.parseAsync(args, { from: 'user' })
}

t.test('the service URL: the flag, then BLAZAR_SERVICE_URL, then .data/cluster/addresses', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blazar-cli-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  t.throws(() => resolveServiceUrl({}, collector({}, dir)), /no node address/)
  mkdirSync(join(dir, '.data/cluster'), { recursive: true })
  writeFileSync(join(dir, '.data/cluster/addresses'), '/ip4/127.0.0.1/tcp/1/p2p/a\n/ip4/127.0.0.1/tcp/2/p2p/b\n\n')
  t.same(resolveServiceUrl({}, collector({}, dir)), ['/ip4/127.0.0.1/tcp/1/p2p/a', '/ip4/127.0.0.1/tcp/2/p2p/b'])
  t.same(resolveServiceUrl({}, collector({ BLAZAR_SERVICE_URL: '/x/p2p/e' }, dir)), ['/x/p2p/e'])
  t.same(resolveServiceUrl({ serviceUrl: ['/y/p2p/f'] }, collector({ BLAZAR_SERVICE_URL: '/x/p2p/e' }, dir)), ['/y/p2p/f'])
})

t.test('produce prints each message ID; consume prints and acknowledges each message', async (t) => {
  const cluster = await FakeCluster.start(t)
  cluster.createTopic('cli')
  const io = collector({ BLAZAR_SERVICE_URL: cluster.address(0) })
  await run(io, ['consume', 'cli', '-s', 'sub', '-n', '0', '--timeout-ms', '1']).catch(() => {})
  process.exitCode = 0
  io.errors.splice(0)
  await run(io, ['produce', 'cli', '-m', 'hello', '-m', 'world', '-n', '2', '--key', 'k', '-p', 'a=b'])
  t.same(io.errors, [])
  t.same(io.lines, ['1:-1:0 hello', '1:-1:1 world', '1:-1:2 hello', '1:-1:3 world', '4 message(s) produced to persistent://public/default/cli'], 'one batch')
  io.lines.splice(0)
  await run(io, ['produce', 'cli', '-m', 'solo', '--disable-batching', '--json'])
  t.match(JSON.parse(io.lines[0]), { messageId: '2:-1:0', index: 2, data: 'solo' })
  io.lines.splice(0)
  await run(io, ['consume', 'cli', '-s', 'sub', '-n', '4', '--initial-position', 'Earliest'])
  t.same(io.lines, ['1:-1:0 key=k hello', '1:-1:1 key=k world', '1:-1:2 key=k hello', '1:-1:3 key=k world'])
  const acked = cluster.requestsOf('ack').flatMap((r) => r.body.type === 'ack' ? r.body.messageIds.map((id) => id.batchIndex) : [])
  t.same(acked.sort(), [0, 1, 2, 3], 'each message acknowledged (grouped into fewer requests)')
  io.lines.splice(0)
  await run(io, ['consume', 'cli', '-s', 'sub', '--json'])
  t.match(JSON.parse(io.lines[0]), { messageId: '2:-1:0', key: null, data: 'solo', redeliveryCount: 1 }, 'delivered to the last consumer, not acknowledged: again')
})

t.test('admin commands and cluster status', async (t) => {
  const cluster = await FakeCluster.start(t, 2)
  const io = collector({ BLAZAR_SERVICE_URL: cluster.address(0) })
  await run(io, ['tenants', 'create', 'acme'])
  await run(io, ['namespaces', 'create', 'acme/ns', '--deduplication', 'true'])
  await run(io, ['namespaces', 'set-policies', 'acme/ns', '--retention-minutes', '10'])
  await run(io, ['topics', 'create', 'acme/ns/t', '-p', '2'])
  await run(io, ['topics', 'list', 'acme/ns'])
  await run(io, ['tenants', 'list', '--json'])
  t.same(io.errors, [])
  t.same(io.lines, [
    'tenant acme created', 'namespace acme/ns created', 'namespace acme/ns policies set: {"retentionTimeMinutes":10}',
    'topic acme/ns/t created with 2 partitions', 'persistent://acme/ns/t', '["public","acme"]'
  ])
  t.match(cluster.requestsOf('namespaces-create')[0].body, { policies: { deduplication: true } })
  io.lines.splice(0)
  await run(io, ['cluster', 'status'])
  t.match(io.lines[0], /^metadata leader: /)
  t.match(io.lines.join('\n'), /group\s+node\s+role\s+leader\s+term\s+commitIndex\s+commitLag/)
  t.equal(io.lines.filter((line) => line.includes('acme/ns/t-partition-')).length, 4, 'one row per replica')
  io.lines.splice(0)
  await run(io, ['topics', 'stats', 'acme/ns/missing'])
  t.match(io.errors[0], /error: topic persistent:\/\/acme\/ns\/missing does not exist \(UNKNOWN_TOPIC\)/)
  t.equal(process.exitCode, 1)
  process.exitCode = 0
})

t.test('set-message-ttl sets the policy; sizes are read as pulsar-admin reads them', async (t) => {
  const cluster = await FakeCluster.start(t)
  const io = collector({ BLAZAR_SERVICE_URL: cluster.address(0) })
  await run(io, ['namespaces', 'set-message-ttl', 'public/default', '90'])
  t.same(io.lines, ['namespace public/default message TTL set to 90 s'])
  t.match(cluster.requestsOf('namespaces-set-policies')[0].body, { policies: { messageTTLSeconds: 90 } })
  t.same(['4096', '10K', '2m', '3G', '1T', '-1'].map(parseSize), [4096, 10 * 1024, 2 * 1024 ** 2, 3 * 1024 ** 3, 1024 ** 4, -1])
  t.throws(() => parseSize('2GB'), /not a size/)
})

t.test('commit lag is measured against the group\'s highest commit index', async (t) => {
  const row = (node: string, commitIndex: number) => ({ group: 'g', leader: 'a', term: 2, commitIndex, appliedIndex: commitIndex, replicas: ['a', 'b'], node })
  t.same(statusRows({ leader: 'a', nodes: [], groups: [row('a', 10), row('b', 7)] }).map((r) => r.commitLag), [0, 3])
})
