// A real Prometheus server (Debian's `prometheus`, installed with apt-get when missing) scrapes
// the /metrics of a 3-process cluster every second while messages flow, and this test asks its
// HTTP query API for Pulsar's topic metrics (rate(pulsar_in_messages_total), pulsar_rate_in, the
// subscription backlog) and Blazar's own (Raft terms from every node, the fsync histogram).
// Prometheus binds to 127.0.0.1 on a free port and is started and stopped by its PID.
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@blazar/client'
import { startTestCluster } from './support/broker-nodes.ts'

const WAIT_MS = 60_000

function ensurePrometheus (): string | null {
  const found = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' })
  if (found.status === 0) return null
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], { encoding: 'utf8', env, timeout: 600_000 })
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { encoding: 'utf8', env, timeout: 600_000 })
    install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], { encoding: 'utf8', env, timeout: 600_000 })
  }
  return install.status === 0 ? null : `apt-get install prometheus failed: ${install.stderr}`
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

async function until<T> (what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`${what} did not happen within ${WAIT_MS} ms (${String(last)})`)
}

t.test('Prometheus scrapes a 3-node cluster while messages flow', async (t) => {
  const problem = ensurePrometheus()
  if (problem !== null) {
    t.fail(problem)
    return
  }
  const cluster = await startTestCluster('prometheus')
  const client = await Client.create({ serviceUrl: cluster.addresses })
  const dir = mkdtempSync(join(tmpdir(), 'blazar-prometheus-'))
  let prometheus: ChildProcess | undefined
  t.teardown(async () => {
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => { prometheus?.once('exit', resolve) })
      process.kill(prometheus.pid, 'SIGTERM')
      await exited
    }
    await client.close()
    await cluster.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const topic = 'persistent://public/default/scraped'
  await client.admin.topics.create(topic, 2)
  const consumer = await client.subscribe({ topic, subscription: 'slow', subscriptionType: 'Shared', subscriptionInitialPosition: 'Earliest' })
  const producer = await client.createProducer({ topic, batchingEnabled: false })

  const port = await freePort()
  const targets = cluster.nodes.map((node) => `'127.0.0.1:${node.httpPort}'`).join(', ')
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: blazar\n    static_configs:\n      - targets: [${targets}]\n`)
  prometheus = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`
  ], { stdio: 'ignore' })
  const api = `http://127.0.0.1:${port}`
  const query = async (promql: string): Promise<Array<{ metric: Record<string, string>, value: [number, string] }>> => {
    const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`)
    const body = await response.json() as { status: string, data: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }
    if (body.status !== 'success') throw new Error(`query ${promql}: ${JSON.stringify(body)}`)
    return body.data.result
  }
  await until('Prometheus ready', async () => (await fetch(`${api}/-/ready`)).ok ? true : undefined)

  // About 20 messages a second for 12 s, bounded; nothing is acknowledged, so the backlog grows.
  let sent = 0
  const started = Date.now()
  while (Date.now() - started < 12_000 && sent < 400) {
    await producer.send({ data: new TextEncoder().encode(`m${sent}`) })
    sent++
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(sent > 50, `${sent} messages published while Prometheus scraped`)

  const rate = await until('rate(pulsar_in_messages_total) > 0', async () => {
    const result = await query(`sum(rate(pulsar_in_messages_total{topic=~"${topic}-partition-.*"}[5s]))`)
    const value = Number(result[0]?.value[1] ?? 0)
    return value > 0 ? value : undefined
  })
  t.ok(rate > 0, `rate(pulsar_in_messages_total[5s]) = ${rate.toFixed(2)} msg/s`)
  const windowRate = await query(`sum(pulsar_rate_in{topic=~"${topic}-partition-.*"})`)
  t.ok(Number(windowRate[0]?.value[1] ?? 0) > 0, `pulsar_rate_in (the leaders' sliding window) = ${windowRate[0]?.value[1]}`)
  const leaders = await query(`count(pulsar_rate_in{topic=~"${topic}-partition-.*"})`)
  t.equal(Number(leaders[0]?.value[1]), 2, 'one series per partition: only its leader reports it')

  const backlog = (await client.admin.topics.stats(topic)).subscriptions.find((s) => s.name === 'slow')?.backlog ?? -1
  t.ok(backlog > 0, `the subscription's backlog by the admin API: ${backlog}`)
  const scraped = await until('Prometheus sees the backlog the admin API reports', async () => {
    const result = await query(`sum(pulsar_subscription_back_log{subscription="slow", topic=~"${topic}-partition-.*"})`)
    const value = Number(result[0]?.value[1] ?? -1)
    return value === backlog ? value : undefined
  })
  t.equal(scraped, backlog, 'pulsar_subscription_back_log summed over partitions equals the admin backlog')

  const terms = await query('count by (instance) (blazar_raft_term{group="meta"})')
  t.equal(terms.length, 3, 'every node reports its metadata Raft group')
  const fsyncs = await query('sum(blazar_storage_fsync_seconds_count{kind="journal"})')
  t.ok(Number(fsyncs[0]?.value[1] ?? 0) > 0, 'journal fsync latency histogram has samples')
  const processMetrics = await query('count(process_cpu_seconds_total)')
  t.equal(Number(processMetrics[0]?.value[1]), 3, 'process metrics from each node')

  // Every query of the Grafana dashboard is valid PromQL against this Prometheus, and the topic panels have data.
  const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'docs', 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ title: string, targets: Array<{ expr: string }> }> }
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      const result = await query(target.expr.replaceAll('$cluster', '.*').replaceAll('$namespace', '.*'))
      if (panel.title.startsWith('Messages in')) t.ok(result.length > 0, `dashboard panel "${panel.title}" has data`)
      else t.ok(Array.isArray(result), `dashboard panel "${panel.title}" query is valid`)
    }
  }
  await producer.close()
  await consumer.close()
})
