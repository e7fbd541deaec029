// `blazar bench produce`: the broker end to end on 3 real node processes (`blazar node start`,
// as scripts/start runs them) and @blazar/client in this process. (1) One partition (RF 3),
// 100 B messages, producer batching on with the client's Pulsar-like defaults: messages/s for a
// fixed count with a bounded number of sends in flight, and the publish latency of each send
// (call -> resolve, i.e. committed and fsynced on a majority) in an HDR histogram; then the
// same latency at low load (one send at a time), with batching on and off. (2) On a fresh
// cluster, one topic of 1,000 partitions: time from the create request until every partition
// has a leader, then idle CPU per node (/proc/<pid>/stat) and RSS per hosted partition
// (/proc/<pid>/status). Each part starts its own cluster in a temp dir; every node started is
// stopped by PID, and the dir removed, also on failure.
import { readFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { Client, type Producer } from '@blazar/client'
import { parseTopicName } from '@blazar/protocol'
import type { Histogram } from 'hdr-histogram-js'
import type { BenchRegistration } from './bench.ts'
import { median, writeBenchReport } from '../bench/report.ts'
import type { BenchFigures } from '../bench/report.ts'
import { ELECTION_TIMEOUT_MS, withCluster } from '../bench/blazar-cluster.ts'
import { newLatencyHistogram as newHistogram, percentileMs, recordSince } from '../bench/latency.ts'
import { withCpu } from '../bench/process-cpu.ts'

/** The client's defaults (packages/client/README.md), spelled out so the record says what ran. */
const BATCHING = { batchingEnabled: true, batchingMaxMessages: 1000, batchingMaxBytes: 128 * 1024, batchingMaxPublishDelayMs: 10 }
interface ProduceOptions {
  json?: boolean
  runs: string
  messages: string
  inFlight: string
  messageBytes: string
  sequential: string
  maxSeconds: string
  partitions: string
  leaderWaitSeconds: string
  settleSeconds: string
  idleSeconds: string
  skipThroughput?: boolean
  skipPartitions?: boolean
}

function rssBytes (pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (line === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(line[1]) * 1024
}

/** CPU of each node process and of this one while `measure` runs, as % of one core. */
async function withCpuPercent<T> (pids: number[], measure: () => Promise<T>): Promise<{ result: T, nodePercent: number[], clientPercent: number, seconds: number }> {
  const { result, spent } = await withCpu(pids, measure)
  return {
    result,
    nodePercent: spent.serverCpuSeconds.map((cpu) => cpu / spent.seconds * 100),
    clientPercent: spent.clientCpuSeconds / spent.seconds * 100,
    seconds: spent.seconds
  }
}

function millis (histogram: Histogram, percentile: number): number {
  return round(percentileMs(histogram, percentile), 2)
}

function round (value: number, digits = 1): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

interface Published {
  sent: number
  seconds: number
  /** Distinct Raft entries the messages landed in (a batch is one entry). */
  batches: number
}

/**
 * `count` sends with at most `window` in flight (a closed loop: each of `window` senders sends,
 * awaits the MessageId, records the latency, sends again). No send starts after `maxSeconds`.
 */
async function publish (producer: Producer, payload: Uint8Array, count: number, window: number, maxSeconds: number, histogram: Histogram): Promise<Published> {
  const start = performance.now()
  const deadline = start + maxSeconds * 1000
  const entries = new Set<number>()
  let started = 0
  const sender = async (): Promise<void> => {
    while (started < count && performance.now() < deadline) {
      started++
      const at = performance.now()
      const id = await producer.send({ data: payload })
      recordSince(histogram, at)
      entries.add(id.index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, count) }, sender))
  return { sent: started, seconds: (performance.now() - start) / 1000, batches: entries.size }
}

type RunFigures = Record<string, number>

async function throughputRun (options: ProduceOptions, run: number): Promise<RunFigures> {
  const count = Number(options.messages)
  const window = Number(options.inFlight)
  const sequential = Number(options.sequential)
  const maxSeconds = Number(options.maxSeconds)
  const payload = new Uint8Array(Number(options.messageBytes)).fill(0x61)
  return await withCluster('throughput', async (cluster) => {
    const client = await Client.create({ serviceUrl: cluster.addresses })
    try {
      const topic = `persistent://public/default/bench-produce-${run}`
      await client.admin.topics.create(topic, 0)
      const producer = await client.createProducer({ topic, ...BATCHING })
      // Warm-up: the partition elects and the preferred-leader hand-off (2 s after the election) is over before measuring.
      await publish(producer, payload, Math.min(count, 5_000), window, maxSeconds, newHistogram())
      await new Promise((resolve) => { setTimeout(resolve, 3000) })
      await publish(producer, payload, 1_000, window, maxSeconds, newHistogram())
      const leader = (await client.admin.topics.lookup(topic)).leaders[0]?.leader ?? null
      const leaderIndex = cluster.addresses.findIndex((address) => leader !== null && address.endsWith(`/p2p/${leader}`))
      const windowed = newHistogram()
      const loaded = await withCpuPercent(cluster.pids, async () => await publish(producer, payload, count, window, maxSeconds, windowed))
      const batchedOneByOne = newHistogram()
      await publish(producer, payload, sequential, 1, maxSeconds, batchedOneByOne)
      await producer.close()
      const unbatchedProducer = await client.createProducer({ topic, batchingEnabled: false })
      await publish(unbatchedProducer, payload, 50, 1, maxSeconds, newHistogram())
      const unbatchedOneByOne = newHistogram()
      const unbatched = await publish(unbatchedProducer, payload, sequential, 1, maxSeconds, unbatchedOneByOne)
      await unbatchedProducer.close()
      const { sent, seconds, batches } = loaded.result
      return {
        messagesSent: sent,
        seconds: round(seconds, 2),
        messagesPerSec: Math.round(sent / seconds),
        MBPerSec: round(sent * payload.byteLength / seconds / 1e6, 2),
        messagesPerBatch: round(sent / batches, 1),
        p50Ms: millis(windowed, 50),
        p90Ms: millis(windowed, 90),
        p99Ms: millis(windowed, 99),
        p999Ms: millis(windowed, 99.9),
        maxMs: round(windowed.maxValue / 1000, 2),
        leaderNode: leaderIndex + 1,
        cpuPercentLeader: round(loaded.nodePercent[leaderIndex] ?? Number.NaN),
        cpuPercentFollowers: round(loaded.nodePercent.filter((_, i) => i !== leaderIndex).reduce((a, b) => a + b, 0) / 2),
        cpuPercentClient: round(loaded.clientPercent),
        cpuMicrosPerMessageAllProcesses: round((loaded.nodePercent.reduce((a, b) => a + b, 0) + loaded.clientPercent) / 100 * seconds * 1e6 / sent, 1),
        sequentialBatchedP50Ms: millis(batchedOneByOne, 50),
        sequentialBatchedP99Ms: millis(batchedOneByOne, 99),
        sequentialUnbatchedP50Ms: millis(unbatchedOneByOne, 50),
        sequentialUnbatchedP99Ms: millis(unbatchedOneByOne, 99),
        sequentialUnbatchedPerSec: Math.round(unbatched.sent / unbatched.seconds)
      }
    } finally {
      await client.close()
    }
  })
}

/** How many of the topic's partition groups have a leader, by the replicas' own reports. */
async function partitionsLed (client: Client, prefix: string): Promise<number> {
  const status = await client.admin.cluster.status()
  return new Set(status.groups.filter((row) => row.group.startsWith(prefix) && row.role === 'leader').map((row) => row.group)).size
}

async function partitionsRun (options: ProduceOptions, run: number): Promise<RunFigures> {
  const partitions = Number(options.partitions)
  const settleSeconds = Number(options.settleSeconds)
  const idleSeconds = Number(options.idleSeconds)
  return await withCluster('partitions', async (cluster) => {
    const client = await Client.create({ serviceUrl: cluster.addresses })
    try {
      const nodeIds = cluster.addresses.map((address) => address.slice(address.lastIndexOf('/p2p/') + 5))
      await new Promise((resolve) => { setTimeout(resolve, 2000) }) // the joins' own traffic ends
      const rssBefore = cluster.pids.map(rssBytes)
      const topic = parseTopicName(`persistent://public/default/bench-partitions-${run}`).full
      const prefix = `${topic}-partition-`
      const started = performance.now()
      await client.admin.topics.create(topic, partitions)
      const createRequestSeconds = (performance.now() - started) / 1000
      const deadline = started + Number(options.leaderWaitSeconds) * 1000
      let led = 0
      while (performance.now() < deadline) {
        try {
          led = await partitionsLed(client, prefix)
        } catch {
          // a node too busy to answer cluster-status in time: ask again
        }
        if (led >= partitions) break
        await new Promise((resolve) => { setTimeout(resolve, 250) })
      }
      const allLeadersSeconds = (performance.now() - started) / 1000
      if (led < partitions) throw new Error(`${led} of ${partitions} partitions had a leader after ${options.leaderWaitSeconds} s`)
      // Preferred-leader hand-offs (2 s after each election) and quiescence end before the idle window.
      await new Promise((resolve) => { setTimeout(resolve, settleSeconds * 1000) })
      const idle = await withCpuPercent(cluster.pids, async () => { await new Promise((resolve) => { setTimeout(resolve, idleSeconds * 1000) }) })
      const rssAfter = cluster.pids.map(rssBytes)
      const status = await client.admin.cluster.status()
      const rows = status.groups.filter((row) => row.group.startsWith(prefix))
      const hosted = nodeIds.map((id) => rows.filter((row) => row.node === id).length)
      const leading = nodeIds.map((id) => rows.filter((row) => row.node === id && row.role === 'leader').length)
      const perPartition = rssAfter.map((after, i) => (after - rssBefore[i]) / Math.max(1, hosted[i]))
      const figures: RunFigures = {
        partitions,
        createRequestSeconds: round(createRequestSeconds, 2),
        allLeadersSeconds: round(allLeadersSeconds, 2),
        idleCpuPercentMax: round(Math.max(...idle.nodePercent), 2),
        rssBytesPerPartition: Math.round(median(perPartition)),
        rssBytesPerPartitionMax: Math.round(Math.max(...perPartition)),
        metadataLeaderNode: nodeIds.indexOf(status.leader ?? '') + 1
      }
      for (let i = 0; i < 3; i++) {
        figures[`idleCpuPercentNode${i + 1}`] = round(idle.nodePercent[i], 2)
        figures[`rssMiBBeforeNode${i + 1}`] = round(rssBefore[i] / 2 ** 20)
        figures[`rssMiBAfterNode${i + 1}`] = round(rssAfter[i] / 2 ** 20)
        figures[`hostedNode${i + 1}`] = hosted[i]
        figures[`leadersNode${i + 1}`] = leading[i]
      }
      return figures
    } finally {
      await client.close()
    }
  })
}

/** Figures that name a node rather than measure something: kept per run only. */
const NODE_NAMES = new Set(['leaderNode', 'metadataLeaderNode'])

/** The median of each figure over the runs (every run has the same keys). */
function medians (runs: RunFigures[]): RunFigures {
  const keys = Object.keys(runs[0]).filter((key) => !NODE_NAMES.has(key))
  return Object.fromEntries(keys.map((key) => [key, round(median(runs.map((r) => r[key])), 2)]))
}

function loadAverage (): number {
  return round(loadavg()[0], 2)
}

export const registerProduceBench: BenchRegistration = (bench) => {
  bench.command('produce')
    .description('3 node processes: msgs/s and p50/p99 publish latency on one RF 3 partition (100 B, batching on); time to lead 1,000 new partitions, idle CPU, memory per partition')
    .option('--json', 'print the figures as one JSON object on the last line')
    .option('--runs <n>', 'runs of each part, each on a fresh cluster (median reported)', '3')
    .option('--messages <n>', 'messages in the throughput measurement', '200000')
    .option('--in-flight <n>', 'sends in flight at most (closed loop)', '1000')
    .option('--message-bytes <n>', 'payload size', '100')
    .option('--sequential <n>', 'one-at-a-time sends for the low-load latency, batching on and off', '300')
    .option('--max-seconds <n>', 'no send starts after this long in any measurement', '120')
    .option('--partitions <n>', 'partitions of the topic created in the partitions part', '1000')
    .option('--leader-wait-seconds <n>', 'bound on the wait for every partition to have a leader', '180')
    .option('--settle-seconds <n>', 'wait after the last leader before the idle window', '6')
    .option('--idle-seconds <n>', 'idle CPU window', '10')
    .option('--skip-throughput', 'only the partitions part')
    .option('--skip-partitions', 'only the throughput part')
    .action(async (options: ProduceOptions) => {
      const runs = Number(options.runs)
      const figures: BenchFigures = { loadAverageAtStart: loadAverage() }
      const summary: string[] = []
      const throughput: RunFigures[] = []
      const created: RunFigures[] = []
      for (let run = 1; run <= runs; run++) {
        if (options.skipThroughput !== true) {
          const result = await throughputRun(options, run)
          throughput.push(result)
          console.error(`run ${run}/${runs} throughput: ${result.messagesPerSec} msgs/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${result.messagesPerBatch} msgs/batch; sequential p50 ${result.sequentialBatchedP50Ms} ms batched, ${result.sequentialUnbatchedP50Ms} ms unbatched (load ${loadAverage()})`)
        }
        if (options.skipPartitions !== true) {
          const result = await partitionsRun(options, run)
          created.push(result)
          console.error(`run ${run}/${runs} partitions: ${result.partitions} led after ${result.allLeadersSeconds} s, idle CPU max ${result.idleCpuPercentMax}%, ${result.rssBytesPerPartition} B RSS per partition (max ${result.rssBytesPerPartitionMax} B; metadata leader node${result.metadataLeaderNode}) (load ${loadAverage()})`)
        }
      }
      figures.messageBytes = Number(options.messageBytes)
      figures.inFlight = Number(options.inFlight)
      figures.batchingMaxPublishDelayMs = BATCHING.batchingMaxPublishDelayMs
      figures.batchingMaxMessages = BATCHING.batchingMaxMessages
      figures.electionTimeoutMs = ELECTION_TIMEOUT_MS
      figures.dataDir = tmpdir()
      if (throughput.length > 0) {
        const t = medians(throughput)
        figures.throughput = t
        throughput.forEach((r, i) => { figures[`throughputRun${i + 1}`] = r })
        summary.push(
          `one partition (RF 3) on 3 node processes, ${figures.messageBytes} B messages, batching on (max ${BATCHING.batchingMaxMessages} msgs / ${BATCHING.batchingMaxPublishDelayMs} ms), client in this process; median of ${throughput.length} runs`,
          `  ${t.messagesSent} messages, at most ${figures.inFlight} in flight: ${t.messagesPerSec} msgs/s (${t.MBPerSec} MB/s), ${t.messagesPerBatch} messages per batch`,
          `  publish latency (send -> committed): p50 ${t.p50Ms} ms  p90 ${t.p90Ms} ms  p99 ${t.p99Ms} ms  p99.9 ${t.p999Ms} ms  max ${t.maxMs} ms`,
          `  CPU (% of one core): leader ${t.cpuPercentLeader}, followers ${t.cpuPercentFollowers} each, client ${t.cpuPercentClient}; ${t.cpuMicrosPerMessageAllProcesses} µs CPU per message over all 4 processes`,
          `  one send at a time (${options.sequential} sends): batching on p50 ${t.sequentialBatchedP50Ms} ms p99 ${t.sequentialBatchedP99Ms} ms; batching off p50 ${t.sequentialUnbatchedP50Ms} ms p99 ${t.sequentialUnbatchedP99Ms} ms (${t.sequentialUnbatchedPerSec} sends/s)`
        )
      }
      if (created.length > 0) {
        const c = medians(created)
        figures.partitions = c
        created.forEach((r, i) => { figures[`partitionsRun${i + 1}`] = r })
        summary.push(
          `${c.partitions} partitions (one topic, RF 3) on a fresh 3-node cluster; median of ${created.length} runs`,
          `  create request answered after ${c.createRequestSeconds} s; every partition led after ${c.allLeadersSeconds} s; leaders per node ${c.leadersNode1} / ${c.leadersNode2} / ${c.leadersNode3}`,
          `  idle CPU per node (% of one core over ${options.idleSeconds} s, ${options.settleSeconds} s after the last election): ${c.idleCpuPercentNode1}, ${c.idleCpuPercentNode2}, ${c.idleCpuPercentNode3}`,
          `  RSS per hosted partition (after - before, median of the nodes): ${c.rssBytesPerPartition} B (max ${c.rssBytesPerPartitionMax} B); RSS MiB before -> after: ${c.rssMiBBeforeNode1} -> ${c.rssMiBAfterNode1}, ${c.rssMiBBeforeNode2} -> ${c.rssMiBAfterNode2}, ${c.rssMiBBeforeNode3} -> ${c.rssMiBAfterNode3}`
        )
      }
      figures.loadAverageAtEnd = loadAverage()
      summary.push(`load average (1 min) at start ${String(figures.loadAverageAtStart)}, at end ${figures.loadAverageAtEnd} on ${String(availableParallelism())} cores`)
      writeBenchReport({ bench: 'produce', runs, figures, summary }, { json: options.json === true })
    })
}
