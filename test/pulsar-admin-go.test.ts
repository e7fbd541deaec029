// Apache Pulsar's own Go admin library (github.com/apache/pulsar-client-go/pulsaradmin, pinned
// in test/pulsar-admin-go/go.mod) drives Blazar's REST API on a 3-process cluster: it creates a
// tenant, a namespace and a partitioned topic, this test publishes to it, then the program
// reads the stats, clears and resets its subscription, peeks, and deletes everything. The
// program is built here with the machine's Go; its module cache is .tools/go (git-ignored).
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Client } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'

const root = join(import.meta.dirname, '..')
const goCache = join(root, '.tools', 'go')
const binary = join(goCache, 'bin', 'pulsar-admin-check')
const goEnv = { ...process.env, GOPATH: goCache, GOMODCACHE: join(goCache, 'pkg', 'mod'), GOFLAGS: '-modcacherw', GOTOOLCHAIN: 'local' }
const PROGRAM_TIMEOUT_MS = 120_000
/** The machine's Go: on PATH, else where the Go distribution installs itself. */
const goCommand = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).status === 0 ? 'go' : '/usr/local/go/bin/go'

t.test('the Pulsar Go admin library manages a tenant, namespace, partitioned topic and subscription', async (t) => {
  mkdirSync(join(goCache, 'bin'), { recursive: true })
  const build = spawnSync(goCommand, ['build', '-o', binary, '.'], { cwd: join(root, 'test', 'pulsar-admin-go'), env: goEnv, encoding: 'utf8', timeout: 300_000 })
  if (build.error !== undefined || build.status !== 0) {
    t.fail(`building the Go admin check needs Go (>= 1.24) and the Go module proxy: ${build.error?.message ?? build.stderr}`)
    return
  }
  const cluster = await startTestCluster('pulsar-admin-go')
  const client = await Client.create({ serviceUrl: cluster.addresses })
  t.teardown(async () => {
    await client.close()
    await cluster.stop()
  })
  const program = spawn(binary, [`http://127.0.0.1:${cluster.nodes[1]!.httpPort}`], { stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(() => { if (program.exitCode === null) program.kill('SIGKILL') })
  let stderr = ''
  program.stderr.on('data', (chunk) => { stderr += String(chunk) })
  const lines = createInterface({ input: program.stdout })
  const output: string[] = []
  const exited = new Promise<number | null>((resolve) => { program.on('exit', (code) => { resolve(code) }) })
  const nextLine = async (): Promise<string> => await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the Go program said nothing for ${PROGRAM_TIMEOUT_MS} ms (stderr: ${stderr})`)) }, PROGRAM_TIMEOUT_MS)
    lines.once('line', (line) => { clearTimeout(timer); output.push(line); resolve(line) })
    exited.then(() => { clearTimeout(timer); reject(new Error(`the Go program exited: ${stderr}`)) }, () => {})
  })
  t.equal(await nextLine(), 'ready', 'tenant, namespace, partitioned topic (2) and subscription created through the Go library')

  const topic = 'persistent://go-tenant/go-ns/go-topic'
  t.same((await client.admin.topics.lookup(topic)).partitions, 2, 'the Go-created topic is visible to @blazar/client')
  const producer = await client.createProducer({ topic: `${topic}-partition-0`, batchingEnabled: false })
  for (let i = 0; i < 20; i++) await producer.send({ data: new TextEncoder().encode(`go-${i}`) })
  await producer.close()
  program.stdin.write('published\n')

  const stats = await nextLine()
  t.match(stats, /^stats msgInCounter=20 msgRateIn=\d+\.\d+ backlog=20$/, `the library decoded Pulsar-shaped stats: ${stats}`)
  t.equal(await nextLine(), 'peeked go-0', 'after the reset to time 0 the first message is peeked again')
  t.equal(await nextLine(), 'ok', 'everything deleted')
  t.equal(await exited, 0, `the Go program exits 0 (stderr: ${stderr})`)
  t.same((await client.admin.tenants.list()).includes('go-tenant'), false, 'the tenant is gone for @blazar/client too')
})
