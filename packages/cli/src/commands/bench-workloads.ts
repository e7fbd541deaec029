// `blazar bench workloads [--peer nats]`: OpenMessaging-Benchmark-like workloads (maximum rate
// with 1,000 in flight, a fixed rate at 50% of it, one at a time, consume + ack) on topics of 1
// and 16 partitions with 100 B and 1 KiB messages, on a fresh 3-node Blazar cluster (RF 3,
// majority fsync) and, with --peer nats, on a fresh 3-node NATS JetStream cluster (R3, file
// storage), alternating the systems run by run in one invocation. Reports medians over the
// runs, Blazar/peer ratios, server CPU per message and the load average; writes the JSON record
// and a latency plot (SVG) to bench/results/. --cpu-prof writes node and client profiles.
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { withCluster } from '../bench/blazar-cluster.ts'
import { BLAZAR_PRODUCER_SETTINGS, openBlazarTopic, type ClientPlacement } from '../bench/blazar-target.ts'
import { startCpuProfile } from '../bench/cpu-profile.ts'
import { latencyPlotSvg, type PlotPanel } from '../bench/latency-plot.ts'
import { natsServerBinary, withNatsCluster } from '../bench/nats-server.ts'
import { openNatsTopic } from '../bench/nats-target.ts'
import { writeBenchReport, type JsonValue } from '../bench/report.ts'
import { bestMaxRate, medianOverRuns, ratioRows, ratioTable, type SystemFigures } from '../bench/workload-summary.ts'
import { runWorkloads, WORKLOAD_NAMES, type MessagingTarget, type WorkloadName, type WorkloadSettings } from '../bench/workloads.ts'
import type { BenchRegistration } from './bench.ts'

const PEERS = ['nats'] as const
type Peer = typeof PEERS[number]
type SystemName = 'blazar' | Peer

/** Where --cpu-prof writes (git-ignored). */
const PROFILE_ROOT = join(import.meta.dirname, '..', '..', '..', '..', '.data', 'profiles')

interface WorkloadsOptions {
  peer?: string
  runs?: string
  quick?: boolean
  partitions: string
  messageBytes: string
  workloads: string
  seconds?: string
  warmupSeconds?: string
  inFlight: string
  fixedRateShare: string
  consumeMax?: string
  consumeSeconds?: string
  clientOn: string
  cpuProf?: boolean
  label?: string
  json?: boolean
}

/** Full and --quick defaults of the options that --quick shortens. */
const DURATIONS = {
  full: { runs: 3, seconds: 10, warmupSeconds: 2, consumeMax: 200_000, consumeSeconds: 30 },
  quick: { runs: 1, seconds: 1, warmupSeconds: 0.5, consumeMax: 5_000, consumeSeconds: 5 }
}
/** Bound on sends in flight at a fixed rate before the rest count as missed. */
const FIXED_RATE_MAX_OUTSTANDING = 10_000

function list (text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter((item) => item.length > 0)
}

function positiveNumbers (text: string, what: string): number[] {
  const values = list(text).map(Number)
  if (values.length === 0 || !values.every((value) => Number.isFinite(value) && value > 0)) throw new Error(`${what}: expected a comma-separated list of positive numbers, got "${text}"`)
  return values
}

function loadAverage (): number[] {
  return loadavg().map((value) => Math.round(value * 100) / 100)
}

interface Plan {
  peer: Peer | null
  runs: number
  partitions: number[]
  messageBytes: number[]
  clientOn: ClientPlacement
  settings: Omit<WorkloadSettings, 'messageBytes'>
  profileDir: string | null
}

function planOf (options: WorkloadsOptions): Plan {
  if (options.label !== undefined && !/^[a-z0-9-]{1,40}$/.test(options.label)) throw new Error(`--label: lowercase letters, digits and dashes, got "${options.label}"`)
  const defaults = options.quick === true ? DURATIONS.quick : DURATIONS.full
  const peer = options.peer ?? null
  if (peer !== null && !(PEERS as readonly string[]).includes(peer)) throw new Error(`--peer: one of ${PEERS.join(', ')}, got "${peer}"`)
  if (options.clientOn !== 'leader' && options.clientOn !== 'follower') throw new Error(`--client-on: leader or follower, got "${options.clientOn}"`)
  const only = list(options.workloads)
  const unknown = only.filter((name) => !(WORKLOAD_NAMES as readonly string[]).includes(name))
  if (unknown.length > 0) throw new Error(`--workloads: unknown ${unknown.join(', ')} (known: ${WORKLOAD_NAMES.join(', ')})`)
  const number = (value: string | undefined, fallback: number): number => (value === undefined ? fallback : positiveNumbers(value, 'option')[0])
  return {
    peer: peer as Peer | null,
    runs: number(options.runs, defaults.runs),
    partitions: positiveNumbers(options.partitions, '--partitions'),
    messageBytes: positiveNumbers(options.messageBytes, '--message-bytes'),
    clientOn: options.clientOn,
    settings: {
      inFlight: number(options.inFlight, 1000),
      fixedRateShare: number(options.fixedRateShare, 0.5),
      warmupSeconds: number(options.warmupSeconds, defaults.warmupSeconds),
      seconds: number(options.seconds, defaults.seconds),
      consumeMax: number(options.consumeMax, defaults.consumeMax),
      consumeSeconds: number(options.consumeSeconds, defaults.consumeSeconds),
      fixedRateMaxOutstanding: FIXED_RATE_MAX_OUTSTANDING,
      only: new Set(only as WorkloadName[])
    },
    profileDir: options.cpuProf === true ? join(PROFILE_ROOT, `workloads-${new Date().toISOString().replace(/[:.]/g, '-')}`) : null
  }
}

/** Every topic shape of the plan on one started system; `open` makes the system's topic. */
async function runShapes (plan: Plan, system: SystemName, run: number, pids: readonly number[], open: (name: string, partitions: number) => Promise<MessagingTarget & { leaderNode: number }>): Promise<SystemFigures> {
  const figures: SystemFigures = {}
  console.error(`  ${system} run ${run} server PIDs (node order): ${pids.join(' ')}`)
  for (const partitions of plan.partitions) {
    for (const messageBytes of plan.messageBytes) {
      const shape = `${partitions}x${messageBytes}`
      const target = await open(`bench_r${run}_p${partitions}_b${messageBytes}`, partitions)
      try {
        figures[shape] = await runWorkloads(target, pids, { ...plan.settings, messageBytes })
      } finally {
        await target.close()
      }
      const summary = Object.entries(figures[shape]).map(([name, f]) => `${name} ${f?.messagesPerSec ?? 0}/s${f?.p50Ms === undefined ? '' : ` p50 ${f.p50Ms} p99 ${f.p99Ms} ms`}`).join('; ')
      console.error(`  ${system} run ${run} ${shape} (leader node${target.leaderNode}): ${summary} (load ${loadAverage()[0]})`)
    }
  }
  return figures
}

async function runSystem (plan: Plan, system: SystemName, run: number, natsBinary: string | null, peerVersion: { nats?: string }): Promise<SystemFigures> {
  const profile = plan.profileDir === null ? null : await startCpuProfile()
  try {
    if (system === 'blazar') {
      const nodeArgs = plan.profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(plan.profileDir, `blazar-run${run}-nodes`)}`]
      return await withCluster('workloads', async (cluster) =>
        await runShapes(plan, system, run, cluster.pids, async (name, partitions) => await openBlazarTopic(cluster, { name, partitions, clientOn: plan.clientOn })), nodeArgs)
    }
    if (natsBinary === null) throw new Error('no nats-server')
    return await withNatsCluster(natsBinary, async (cluster) => {
      peerVersion.nats = cluster.version
      return await runShapes(plan, system, run, cluster.servers.map((server) => server.pid), async (name, partitions) => await openNatsTopic(cluster, { name, partitions, clientOn: plan.clientOn }))
    })
  } finally {
    if (profile !== null && plan.profileDir !== null) {
      mkdirSync(plan.profileDir, { recursive: true })
      await profile.stop(join(plan.profileDir, `client-${system}-run${run}.cpuprofile`))
    }
  }
}

function latencyPanels (medians: Partial<Record<SystemName, SystemFigures>>, shapes: readonly string[]): PlotPanel[] {
  const panels: PlotPanel[] = []
  for (const workload of ['one-at-a-time', 'fixed-rate'] as const) {
    for (const shape of shapes) {
      const series = Object.entries(medians).flatMap(([system, figures]) => {
        const curve = figures?.[shape]?.[workload]?.curve
        return curve === undefined ? [] : [{ label: `${system} (${figures?.[shape]?.[workload]?.path ?? ''})`, curve }]
      })
      if (series.length > 0) panels.push({ title: `${workload}, ${shape.replace('x', ' partition(s) × ')} B`, series })
    }
  }
  return panels
}

function summaryLines (medians: Partial<Record<SystemName, SystemFigures>>): string[] {
  const lines: string[] = []
  for (const [system, figures] of Object.entries(medians)) {
    for (const [shape, topic] of Object.entries(figures ?? {})) {
      for (const [name, f] of Object.entries(topic)) {
        if (f === undefined) continue
        const latency = f.p50Ms === undefined ? '' : `  p50 ${f.p50Ms}  p99 ${f.p99Ms}  p99.9 ${f.p999Ms}  max ${f.maxMs} ms`
        lines.push(`  ${system.padEnd(6)} ${shape.padEnd(8)} ${name.padEnd(34)} ${String(f.messagesPerSec).padStart(7)} msgs/s${latency}  server CPU ${f.serverCpuMicrosPerMessage} µs/msg (${f.serverCpuPercent}%), client ${f.clientCpuPercent}%`)
      }
    }
  }
  return lines
}

function toJson (value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue
}

export const registerWorkloadsBench: BenchRegistration = (bench) => {
  bench.command('workloads')
    .description('OpenMessaging-like workloads (max rate with 1,000 in flight, 50% of it at a fixed rate, one at a time, consume + ack; 1 and 16 partitions; 100 B and 1 KiB) on 3 Blazar nodes, RF 3; --peer nats runs them on a 3-node NATS JetStream R3 cluster too, alternating, and prints the ratios')
    .option('--peer <name>', `also run a peer system: ${PEERS.join(', ')} (nats-server is installed from Debian into .tools/nats when missing)`)
    .option('--runs <n>', 'runs of each system, alternated; medians reported (default 3, --quick 1)')
    .option('--quick', 'short smoke run: 1 run, 1 s workloads, small consume')
    .option('--partitions <list>', 'partitions of the topic, one topic shape each', '1,16')
    .option('--message-bytes <list>', 'message sizes, one topic shape each', '100,1024')
    .option('--workloads <list>', `which workloads (${WORKLOAD_NAMES.join(', ')})`, WORKLOAD_NAMES.join(','))
    .option('--seconds <n>', 'length of each measured publish workload (default 10, --quick 1)')
    .option('--warmup-seconds <n>', 'unmeasured publishing before max-rate and one-at-a-time (default 2, --quick 0.5)')
    .option('--in-flight <n>', 'sends in flight in the max-rate workload', '1000')
    .option('--fixed-rate-share <x>', 'fixed rate as a share of the best max rate', '0.5')
    .option('--consume-max <n>', 'most messages consumed (default 200000, --quick 5000)')
    .option('--consume-seconds <n>', 'time bound of consume + ack (default 30, --quick 5)')
    .option('--client-on <where>', 'leader: the client connects to the (first) partition leader; follower: through a node that does not lead it', 'leader')
    .option('--cpu-prof', 'write CPU profiles of the Blazar nodes (node --cpu-prof) and of this client process under .data/profiles/')
    .option('--label <name>', 'added to the results file name (e.g. before, after)')
    .option('--json', 'print the figures as one JSON object on the last line')
    .action(async (options: WorkloadsOptions) => {
      const plan = planOf(options)
      const loadAtStart = loadAverage()
      const natsBinary = plan.peer === 'nats' ? natsServerBinary((line) => { console.error(line) }) : null
      const systems: SystemName[] = plan.peer === null ? ['blazar'] : ['blazar', plan.peer]
      const runs: Record<SystemName, SystemFigures[]> = { blazar: [], nats: [] }
      const runLoads: JsonValue[] = []
      const peerVersion: { nats?: string } = {}
      for (let run = 1; run <= plan.runs; run++) {
        // Alternate which system goes first, so drift on the shared machine hits both alike.
        const order = run % 2 === 1 ? systems : [...systems].reverse()
        for (const system of order) {
          const before = loadAverage()
          console.error(`run ${run}/${plan.runs} ${system} (load ${before.join(' ')})`)
          runs[system].push(await runSystem(plan, system, run, natsBinary, peerVersion))
          runLoads.push({ run, system, loadAverageBefore: before, loadAverageAfter: loadAverage() })
        }
      }
      const medians: Partial<Record<SystemName, SystemFigures>> = {}
      for (const system of systems) medians[system] = medianOverRuns(runs[system])
      const shapes = plan.partitions.flatMap((p) => plan.messageBytes.map((b) => `${p}x${b}`))
      const rows = plan.peer === null ? [] : ratioRows(medians.blazar ?? {}, medians[plan.peer] ?? {})
      const loadAtEnd = loadAverage()
      const summary = [
        `${plan.runs} run(s) per system, alternated; medians; 3 nodes, replication 3; client on the ${plan.clientOn}; load average at start ${loadAtStart.join(' ')}, at end ${loadAtEnd.join(' ')} on ${availableParallelism()} cores`,
        ...summaryLines(medians)
      ]
      if (plan.peer !== null) summary.push('', `Blazar / ${plan.peer} (median of ${plan.runs}; for latency and CPU, below 1 is better for Blazar; for rates, above 1):`, ...ratioTable(rows, plan.peer))
      const figures = {
        peer: plan.peer,
        peerVersion: peerVersion.nats ?? null,
        clientOn: plan.clientOn,
        quick: options.quick === true,
        partitions: plan.partitions,
        messageBytes: plan.messageBytes,
        settings: { ...plan.settings, only: [...plan.settings.only] },
        blazarProducerSettings: BLAZAR_PRODUCER_SETTINGS,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadAtEnd,
        runLoads,
        medians,
        ratios: rows,
        bestPeerMaxRatePath: Object.fromEntries(shapes.map((shape) => [shape, bestMaxRate(plan.peer === null ? {} : medians[plan.peer]?.[shape] ?? {})?.path ?? null])),
        runs: Object.fromEntries(systems.map((system) => [system, runs[system]]))
      }
      const name = ['workloads', plan.peer, plan.clientOn === 'follower' ? 'follower' : null, options.quick === true ? 'quick' : null, options.label ?? null].filter((part) => part !== null).join('-')
      const file = writeBenchReport({ bench: name, runs: plan.runs, figures: toJson(figures) as Record<string, JsonValue>, summary }, { json: options.json === true })
      const svg = file.replace(/\.json$/, '.svg')
      writeFileSync(svg, latencyPlotSvg(`${name}: publish latency (send → acknowledged), median of ${plan.runs} run(s), client on the ${plan.clientOn}`, latencyPanels(medians, shapes)))
      console.log(`latency plot in ${svg}`)
      if (plan.profileDir !== null) console.log(`CPU profiles in ${plan.profileDir}`)
    })
}
