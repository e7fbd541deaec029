// `blazar bench transport`: what the libp2p transport costs. (1) Small-message round trips/s
// and 1 MiB-frame MB/s over /blazar/client/1 (TCP + Noise + Yamux) against a plain TCP socket
// using the same framing and msgpack (the limit); the server side runs in its own process
// (packages/transport/test/fixtures/echo-peer.ts), the client in this one, for both. Each side's
// CPU time per round trip and per MiB is recorded too: on a shared machine it moves less with
// the load than the rates do. (2) Three node processes hosting idle Raft groups (RF 3) over the
// libp2p Raft network: CPU per node and memory per group.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import type { Socket } from 'node:net'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { encodeFrame, FrameDecoder, packBody, Transport, unpackBody } from '@blazar/transport'
import type { Command } from 'commander'
import type { BenchRegistration } from './bench.ts'
import { median, writeBenchReport } from '../bench/report.ts'
import type { BenchFigures } from '../bench/report.ts'

const MiB = 1024 * 1024
/** Frame limit for both sides of the throughput runs (a 1 MiB body plus msgpack overhead fits). */
const BENCH_MAX_FRAME_BYTES = 2 * MiB
/** Requests in flight for the pipelined small-message run and for the 1 MiB run. */
const SMALL_WINDOW = 64
const BULK_WINDOW = 8

type Call = (body: unknown) => Promise<unknown>

interface Endpoint {
  call: Call
  /** The echo peer's process (its CPU time is read from /proc). */
  serverPid: number
  close (): Promise<void>
}

/** Calls completed with `window` calls kept in flight for `durationMs`, and the seconds that took. */
async function runCalls (call: Call, body: unknown, window: number, durationMs: number): Promise<{ completed: number, seconds: number }> {
  const start = performance.now()
  const deadline = start + durationMs
  let completed = 0
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await call(body)
      completed++
    }
  }
  await Promise.all(Array.from({ length: window }, worker))
  return { completed, seconds: (performance.now() - start) / 1000 }
}

async function callsPerSecond (call: Call, body: unknown, window: number, durationMs: number): Promise<number> {
  const { completed, seconds } = await runCalls(call, body, window, durationMs)
  return completed / seconds
}

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'transport', 'test', 'fixtures')

/** Starts the echo peer (its own process) and returns its address line. */
async function startEchoPeer (args: string[]): Promise<{ child: ChildProcess, address: string | number }> {
  const child = spawn(process.execPath, [join(FIXTURES, 'echo-peer.ts'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  const ready = await nextEvent({ lines }, 'ready', 30_000)
  return { child, address: ready.address as string | number }
}

async function stopEchoPeer (child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => { child.once('exit', resolve) })
  child.stdin?.end()
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 5000)
  await exited
  clearTimeout(timer)
}

async function libp2pEndpoint (dir: string): Promise<Endpoint> {
  const peer = await startEchoPeer(['libp2p', join(dir, 'server'), String(BENCH_MAX_FRAME_BYTES)])
  const client = await Transport.start({ dataDir: join(dir, 'client'), settings: { maxFrameBytes: BENCH_MAX_FRAME_BYTES } })
  const connection = await client.connectClient(peer.address as string)
  return {
    call: async (body) => await connection.request(body),
    serverPid: peer.child.pid as number,
    close: async () => { await client.stop(); await stopEchoPeer(peer.child) }
  }
}

/** Frames written in one tick leave in one socket write, as FrameWriter does over libp2p. */
function socketWriter (socket: Socket): (body: Uint8Array) => void {
  let chunks: Uint8Array[] = []
  return (body) => {
    if (chunks.length === 0) {
      queueMicrotask(() => {
        const out = chunks
        chunks = []
        if (out.reduce((n, c) => n + c.byteLength, 0) > 64 * 1024) for (const c of out) socket.write(c)
        else socket.write(Buffer.concat(out))
      })
    }
    chunks.push(...encodeFrame(body, BENCH_MAX_FRAME_BYTES))
  }
}

function onSocketFrames (socket: Socket, onFrame: (frame: Record<string, unknown>) => void): void {
  const decoder = new FrameDecoder(BENCH_MAX_FRAME_BYTES)
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const body of decoder.push(chunk)) onFrame(unpackBody(body) as Record<string, unknown>)
    } catch (error) {
      socket.destroy(error as Error)
    }
  })
}

async function tcpEndpoint (): Promise<Endpoint> {
  const peer = await startEchoPeer(['tcp', String(BENCH_MAX_FRAME_BYTES)])
  const port = peer.address as number
  const socket = createConnection({ port, host: '127.0.0.1', noDelay: true })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const pending = new Map<number, (body: unknown) => void>()
  let nextId = 0
  const write = socketWriter(socket)
  onSocketFrames(socket, (frame) => {
    const resolve = pending.get(frame.id as number)
    pending.delete(frame.id as number)
    resolve?.(frame.body)
  })
  return {
    call: async (body) => {
      const id = nextId++
      const response = new Promise((resolve) => { pending.set(id, resolve) })
      write(packBody({ t: 1, id, body }))
      if (socket.writableNeedDrain) await new Promise((resolve) => { socket.once('drain', resolve) })
      return await response
    },
    serverPid: peer.child.pid as number,
    close: async () => {
      socket.destroy()
      await stopEchoPeer(peer.child)
    }
  }
}

interface ThroughputFigures {
  smallRttPerSecWindow1: number
  smallRttPerSecWindow64: number
  bulkMiBPerSec: number
  /** CPU time (user + system) of client and server together per small round trip at window 64. */
  smallCpuMicrosPerRttWindow64: number
  /** CPU time of the client (sender of the 1 MiB frames) and of the server (receiver) per MiB. */
  bulkClientCpuMsPerMiB: number
  bulkServerCpuMsPerMiB: number
}

/** `measure` with the CPU time (ms) this process and the server process spent meanwhile. */
async function withCpu<T> (serverPid: number, measure: () => Promise<T>): Promise<{ result: T, clientMs: number, serverMs: number }> {
  const client = process.cpuUsage()
  const server = cpuSeconds(serverPid)
  const result = await measure()
  const used = process.cpuUsage(client)
  return { result, clientMs: (used.user + used.system) / 1000, serverMs: (cpuSeconds(serverPid) - server) * 1000 }
}

async function measureThroughput (endpoint: Endpoint, seconds: number): Promise<ThroughputFigures> {
  const small = { topic: 'orders', seq: 1, key: 'k', ts: 1 }
  const bulk = new Uint8Array(MiB).fill(7)
  await callsPerSecond(endpoint.call, small, SMALL_WINDOW, 300) // warm-up
  const smallRttPerSecWindow1 = await callsPerSecond(endpoint.call, small, 1, seconds * 1000)
  const pipelined = await withCpu(endpoint.serverPid, async () => await runCalls(endpoint.call, small, SMALL_WINDOW, seconds * 1000))
  const bulkRun = await withCpu(endpoint.serverPid, async () => await runCalls(endpoint.call, bulk, BULK_WINDOW, seconds * 1000))
  const mib = bulkRun.result.completed // one MiB per call
  return {
    smallRttPerSecWindow1,
    smallRttPerSecWindow64: pipelined.result.completed / pipelined.result.seconds,
    bulkMiBPerSec: mib / bulkRun.result.seconds,
    smallCpuMicrosPerRttWindow64: (pipelined.clientMs + pipelined.serverMs) * 1000 / pipelined.result.completed,
    bulkClientCpuMsPerMiB: bulkRun.clientMs / mib,
    bulkServerCpuMsPerMiB: bulkRun.serverMs / mib
  }
}

function medians (runs: ThroughputFigures[]): ThroughputFigures {
  const of = (key: keyof ThroughputFigures, digits: number): number => {
    const scale = 10 ** digits
    return Math.round(median(runs.map((r) => r[key])) * scale) / scale
  }
  return {
    smallRttPerSecWindow1: of('smallRttPerSecWindow1', 0),
    smallRttPerSecWindow64: of('smallRttPerSecWindow64', 0),
    bulkMiBPerSec: of('bulkMiBPerSec', 1),
    smallCpuMicrosPerRttWindow64: of('smallCpuMicrosPerRttWindow64', 1),
    bulkClientCpuMsPerMiB: of('bulkClientCpuMsPerMiB', 3),
    bulkServerCpuMsPerMiB: of('bulkServerCpuMsPerMiB', 3)
  }
}

// ---- idle groups on three node processes

const HOST_SCRIPT = join(FIXTURES, 'raft-host.ts')
/** Bound on a host's answer to one command: thousands of groups electing on a busy machine are slow. */
const HOST_ANSWER_MS = 120_000

interface HostProcess {
  child: ChildProcess
  id: string
  addresses: string[]
  lines: AsyncIterator<string>
}

async function nextEvent (host: { lines: AsyncIterator<string> }, type: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const remaining = deadline - Date.now()
    if (remaining <= 0) throw new Error(`raft host: no '${type}' event within ${timeoutMs} ms`)
    let timer: NodeJS.Timeout | undefined
    const line = await Promise.race([
      host.lines.next(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`raft host: no '${type}' event within ${timeoutMs} ms`)) }, remaining) })
    ]).finally(() => { clearTimeout(timer) })
    if (line.done === true) throw new Error(`raft host exited before '${type}'`)
    const event = JSON.parse(line.value) as Record<string, unknown>
    if (event.type === type) return event
  }
}

async function startHost (dataDir: string, extraArgs: string[]): Promise<HostProcess> {
  const child = spawn(process.execPath, ['--expose-gc', HOST_SCRIPT, '--data-dir', dataDir, ...extraArgs], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  const ready = await nextEvent({ lines }, 'ready', 30_000)
  return { child, id: ready.id as string, addresses: ready.addresses as string[], lines }
}

function send (host: HostProcess, command: Record<string, unknown>): void {
  host.child.stdin?.write(JSON.stringify(command) + '\n')
}

/** User + system CPU time of a process so far, in seconds (Linux /proc). */
function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

interface IdleFigures {
  groups: number
  leadersElected: number
  idleCpuPercentPerNode: number[]
  memoryBytesPerGroup: number
  electionSeconds: number
  framesPerSecPerNode: number
  messagesPerFrame: number
  quiescedReplicas: number
}

async function measureIdleGroups (dir: string, groups: number, idleSeconds: number, hostArgs: string[]): Promise<IdleFigures> {
  const hosts: HostProcess[] = []
  try {
    for (let i = 0; i < 3; i++) hosts.push(await startHost(join(dir, `node-${i}`), hostArgs))
    const members = hosts.map((h) => ({ id: h.id, addresses: h.addresses }))
    const before = await Promise.all(hosts.map(async (h) => { send(h, { cmd: 'memory' }); return await nextEvent(h, 'memory', HOST_ANSWER_MS) }))
    const groupIds = Array.from({ length: groups }, (_, i) => `p${i}`)
    const started = performance.now()
    for (const h of hosts) send(h, { cmd: 'host', members, groups: groupIds })
    let leaders = 0
    const deadline = Date.now() + 180_000
    while (Date.now() < deadline) {
      const statuses = await Promise.all(hosts.map(async (h) => { send(h, { cmd: 'status' }); return await nextEvent(h, 'status', HOST_ANSWER_MS) }))
      leaders = statuses.reduce((n, s) => n + (s.leaderOf as number), 0)
      if (leaders >= groups) break
      await new Promise((resolve) => { setTimeout(resolve, 500) })
    }
    const electionSeconds = (performance.now() - started) / 1000
    let quiescedReplicas = 0
    if (hostArgs.includes('--quiesce')) {
      const quietDeadline = Date.now() + 60_000
      while (Date.now() < quietDeadline) {
        const statuses = await Promise.all(hosts.map(async (h) => { send(h, { cmd: 'status' }); return await nextEvent(h, 'status', HOST_ANSWER_MS) }))
        quiescedReplicas = statuses.reduce((n, s) => n + (s.quiesced as number), 0)
        if (quiescedReplicas >= 3 * groups) break
        await new Promise((resolve) => { setTimeout(resolve, 500) })
      }
    }
    await new Promise((resolve) => { setTimeout(resolve, 3000) }) // let the post-election burst end
    const countersOf = async (): Promise<Array<Record<string, number>>> => await Promise.all(hosts.map(async (h) => {
      send(h, { cmd: 'status' })
      return (await nextEvent(h, 'status', HOST_ANSWER_MS)).counters as Record<string, number>
    }))
    const countersBefore = await countersOf()
    const cpuBefore = hosts.map((h) => cpuSeconds(h.child.pid as number))
    const t0 = performance.now()
    await new Promise((resolve) => { setTimeout(resolve, idleSeconds * 1000) })
    const elapsed = (performance.now() - t0) / 1000
    const idleCpuPercentPerNode = hosts.map((h, i) => Math.round((cpuSeconds(h.child.pid as number) - cpuBefore[i]) / elapsed * 1000) / 10)
    const countersAfter = await countersOf()
    const frames = countersAfter.map((c, i) => c.raftFramesSent - countersBefore[i].raftFramesSent)
    const messages = countersAfter.map((c, i) => c.raftMessagesSent - countersBefore[i].raftMessagesSent)
    const framesPerSecPerNode = Math.round(median(frames) / elapsed)
    const messagesPerFrame = Math.round(messages.reduce((a, b) => a + b, 0) / Math.max(1, frames.reduce((a, b) => a + b, 0)) * 10) / 10
    const after = await Promise.all(hosts.map(async (h) => { send(h, { cmd: 'memory' }); return await nextEvent(h, 'memory', HOST_ANSWER_MS) }))
    const perGroup = after.map((a, i) => ((a.heapUsed as number) + (a.arrayBuffers as number) - (before[i].heapUsed as number) - (before[i].arrayBuffers as number)) / groups)
    return {
      groups, leadersElected: leaders, idleCpuPercentPerNode, memoryBytesPerGroup: Math.round(median(perGroup)),
      electionSeconds: Math.round(electionSeconds * 10) / 10, framesPerSecPerNode, messagesPerFrame, quiescedReplicas
    }
  } finally {
    for (const h of hosts) h.child.kill('SIGKILL')
  }
}

interface BenchOptions {
  json?: boolean
  runs: string
  seconds: string
  groups: string
  idleSeconds: string
  heartbeatMs: string
  electionTimeoutMs: string
  clockResolutionMs: string
  idleModes: string
  skipIdle?: boolean
  skipThroughput?: boolean
}

async function throughputPart (dir: string, options: BenchOptions, figures: BenchFigures, summary: string[]): Promise<void> {
  const runs = Number(options.runs)
  const seconds = Number(options.seconds)
  const libp2pRuns: ThroughputFigures[] = []
  const tcpRuns: ThroughputFigures[] = []
  for (let run = 0; run < runs; run++) {
    const tcp = await tcpEndpoint()
    tcpRuns.push(await measureThroughput(tcp, seconds))
    await tcp.close()
    const libp2p = await libp2pEndpoint(join(dir, `run-${run}`))
    libp2pRuns.push(await measureThroughput(libp2p, seconds))
    await libp2p.close()
  }
  const lib = medians(libp2pRuns)
  const tcp = medians(tcpRuns)
  const ratio = (a: number, b: number): number => Math.round(a / b * 1000) / 1000
  Object.assign(figures, {
    libp2pSmallRoundTripsPerSecWindow1: lib.smallRttPerSecWindow1,
    libp2pSmallRoundTripsPerSecWindow64: lib.smallRttPerSecWindow64,
    libp2pBulkMiBPerSec: lib.bulkMiBPerSec,
    tcpSmallRoundTripsPerSecWindow1: tcp.smallRttPerSecWindow1,
    tcpSmallRoundTripsPerSecWindow64: tcp.smallRttPerSecWindow64,
    tcpBulkMiBPerSec: tcp.bulkMiBPerSec,
    ratioSmallWindow1: ratio(lib.smallRttPerSecWindow1, tcp.smallRttPerSecWindow1),
    ratioSmallWindow64: ratio(lib.smallRttPerSecWindow64, tcp.smallRttPerSecWindow64),
    ratioBulk: ratio(lib.bulkMiBPerSec, tcp.bulkMiBPerSec),
    bulkTargetMet: lib.bulkMiBPerSec >= 0.6 * tcp.bulkMiBPerSec,
    // CPU time is less sensitive to the shared machine's load than wall-clock rates; the ratio
    // of CPU per MiB is what the wall-clock ratio tends to once both sides compete for the cores.
    libp2pSmallCpuMicrosPerRttWindow64: lib.smallCpuMicrosPerRttWindow64,
    tcpSmallCpuMicrosPerRttWindow64: tcp.smallCpuMicrosPerRttWindow64,
    libp2pBulkClientCpuMsPerMiB: lib.bulkClientCpuMsPerMiB,
    libp2pBulkServerCpuMsPerMiB: lib.bulkServerCpuMsPerMiB,
    tcpBulkClientCpuMsPerMiB: tcp.bulkClientCpuMsPerMiB,
    tcpBulkServerCpuMsPerMiB: tcp.bulkServerCpuMsPerMiB,
    ratioBulkCpu: ratio(tcp.bulkClientCpuMsPerMiB + tcp.bulkServerCpuMsPerMiB, lib.bulkClientCpuMsPerMiB + lib.bulkServerCpuMsPerMiB)
  })
  summary.push(
    `throughput: median of ${runs} runs, ${seconds} s each; client here, server in its own process`,
    `  small round trips/s  window 1: libp2p ${lib.smallRttPerSecWindow1}  tcp ${tcp.smallRttPerSecWindow1}  (ratio ${String(figures.ratioSmallWindow1)})`,
    `  small round trips/s  window ${SMALL_WINDOW}: libp2p ${lib.smallRttPerSecWindow64}  tcp ${tcp.smallRttPerSecWindow64}  (ratio ${String(figures.ratioSmallWindow64)})`,
    `  1 MiB frames MiB/s   window ${BULK_WINDOW}: libp2p ${lib.bulkMiBPerSec}  tcp ${tcp.bulkMiBPerSec}  (ratio ${String(figures.ratioBulk)}, target >= 0.6)`,
    `  CPU per small round trip (window ${SMALL_WINDOW}, both processes): libp2p ${lib.smallCpuMicrosPerRttWindow64} µs  tcp ${tcp.smallCpuMicrosPerRttWindow64} µs`,
    `  CPU per MiB (1 MiB frames, sender + receiver): libp2p ${lib.bulkClientCpuMsPerMiB} + ${lib.bulkServerCpuMsPerMiB} ms  tcp ${tcp.bulkClientCpuMsPerMiB} + ${tcp.bulkServerCpuMsPerMiB} ms  (tcp/libp2p ${String(figures.ratioBulkCpu)})`
  )
}

/** One idle run per mode: 'quiesce' (Raft quiescence on, liveness from node heartbeats) and 'plain' (every group heartbeats). */
async function idlePart (dir: string, options: BenchOptions, figures: BenchFigures, summary: string[]): Promise<void> {
  const modes = options.idleModes.split(',').map((mode) => mode.trim())
  for (const mode of modes) {
    if (mode !== 'quiesce' && mode !== 'plain') throw new Error(`unknown idle mode ${mode} (quiesce or plain)`)
    const hostArgs = [
      '--heartbeat-ms', options.heartbeatMs, '--election-timeout-ms', options.electionTimeoutMs,
      '--clock-resolution-ms', options.clockResolutionMs, ...(mode === 'quiesce' ? ['--quiesce'] : [])
    ]
    const key = mode === 'quiesce' ? 'idleQuiesced' : 'idlePlain'
    let idle: IdleFigures
    try {
      idle = await measureIdleGroups(join(dir, `idle-${mode}`), Number(options.groups), Number(options.idleSeconds), hostArgs)
    } catch (error) {
      // An overloaded host can stop answering; record that instead of losing the other figures.
      figures[key] = { error: String((error as Error).message ?? error) }
      summary.push(`idle (${mode}): failed: ${String((error as Error).message ?? error)}`)
      continue
    }
    const maxCpu = Math.max(...idle.idleCpuPercentPerNode)
    figures[key] = {
      groups: idle.groups,
      raftHeartbeatMs: Number(options.heartbeatMs),
      raftElectionTimeoutMs: Number(options.electionTimeoutMs),
      leadersElected: idle.leadersElected,
      quiescedReplicas: idle.quiescedReplicas,
      electionSeconds: idle.electionSeconds,
      ...Object.fromEntries(idle.idleCpuPercentPerNode.map((cpu, i) => [`cpuPercentNode${i}`, cpu])),
      cpuPercentMax: maxCpu,
      cpuTargetMet: maxCpu < 5,
      memoryBytesPerGroup: idle.memoryBytesPerGroup,
      raftFramesPerSecPerNode: idle.framesPerSecPerNode,
      raftMessagesPerFrame: idle.messagesPerFrame
    }
    summary.push(
      `idle (${mode === 'quiesce' ? 'quiescence on' : 'quiescence off'}): ${idle.groups} groups (RF 3) on 3 node processes, raft heartbeat ${options.heartbeatMs} ms, election ${options.electionTimeoutMs} ms`,
      `  ${idle.leadersElected} leaders after ${idle.electionSeconds} s; ${idle.quiescedReplicas} of ${3 * idle.groups} replicas quiesced`,
      `  idle CPU per node (% of one core over ${options.idleSeconds} s): ${idle.idleCpuPercentPerNode.join(', ')} (target < 5)`,
      `  raft frames/s per node ${idle.framesPerSecPerNode}, ${idle.messagesPerFrame} messages per frame (node heartbeats not included)`,
      `  memory per group (heap + array buffers, median of the nodes): ${idle.memoryBytesPerGroup} bytes`
    )
  }
}

export const registerTransportBench: BenchRegistration = (bench: Command) => {
  bench.command('transport')
    .description('libp2p vs plain TCP round trips and MB/s; idle CPU and memory of 3 nodes hosting many Raft groups')
    .option('--json', 'print the figures as one JSON object on the last line')
    .option('--runs <n>', 'runs per throughput figure (median reported)', '3')
    .option('--seconds <n>', 'seconds per throughput measurement', '3')
    .option('--groups <n>', 'idle Raft groups hosted by the 3 nodes (RF 3)', '3000')
    .option('--idle-seconds <n>', 'seconds of idle CPU measurement', '20')
    .option('--heartbeat-ms <n>', 'Raft heartbeat interval of the idle groups', '100')
    .option('--election-timeout-ms <n>', 'Raft election timeout of the idle groups', '1000')
    .option('--clock-resolution-ms <n>', 'SystemClock slot of the node processes (timers in one slot fire together)', '20')
    .option('--idle-modes <list>', 'idle runs: quiesce (Raft quiescence on), plain (off), or both', 'quiesce,plain')
    .option('--skip-idle', 'only the throughput part')
    .option('--skip-throughput', 'only the idle-groups part')
    .action(async (options: BenchOptions) => {
      const dir = mkdtempSync(join(tmpdir(), 'blazar-bench-transport-'))
      // The machine is shared: the load average around the run says how much the figures mean.
      const figures: BenchFigures = { loadAverageAtStart: Math.round(loadavg()[0] * 100) / 100 }
      const summary: string[] = []
      try {
        if (options.skipThroughput !== true) await throughputPart(dir, options, figures, summary)
        if (options.skipIdle !== true) await idlePart(dir, options, figures, summary)
        figures.loadAverageAtEnd = Math.round(loadavg()[0] * 100) / 100
        summary.push(`load average (1 min) at start ${String(figures.loadAverageAtStart)}, at end ${figures.loadAverageAtEnd} on ${String(availableParallelism())} cores`)
        writeBenchReport({ bench: 'transport', runs: Number(options.runs), figures, summary }, { json: options.json === true })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
}
