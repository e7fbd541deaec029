// The OpenMessaging-Benchmark-like workloads, run the same way against any system behind a
// MessagingTarget (one topic of 1 or 16 partitions, one message size): the maximum publish
// rate with a fixed number of sends in flight (closed loop, per publish path), a fixed rate at
// a share of that maximum (open loop: latency counted from each message's scheduled time, so
// a stall is not hidden by the sender waiting), one send at a time, and consume + ack of what
// was published. Each is bounded in time; CPU is measured over each one for the server
// processes (by PID) and for this process.
import type { Histogram } from 'hdr-histogram-js'
import { latencySummary, newLatencyHistogram, percentileCurve, recordSince, type LatencySummary } from './latency.ts'
import { withCpu, type CpuSpent } from './process-cpu.ts'

export const WORKLOAD_NAMES = ['max-rate', 'fixed-rate', 'one-at-a-time', 'consume'] as const
export type WorkloadName = typeof WORKLOAD_NAMES[number]

/** How a publisher is set up: Blazar batches for throughput, for latency at a rate, or not at all. */
export type PublishMode = 'max-rate' | 'fixed-rate' | 'one-at-a-time'

export interface Publisher {
  /** Resolves once the system acknowledged the message as stored (replicated per its contract). */
  send: (payload: Uint8Array) => Promise<void>
  close: () => Promise<void>
}

/** One topic of a system under test, ready for the workloads. */
export interface MessagingTarget {
  /** The publish paths the max-rate workload measures, the system's usual API first. */
  readonly publishPaths: readonly string[]
  /** A publisher on `path` (one of publishPaths), set up for `mode`; its sends spread over the topic's partitions. */
  openPublisher: (path: string, mode: PublishMode) => Promise<Publisher>
  /** Attaches a consumer at the start of the topic (outside the measurement). */
  openConsumer: () => Promise<TopicConsumer>
  close: () => Promise<void>
}

export interface TopicConsumer {
  /** Receives and acknowledges up to `count` messages; resolves with how many arrived by `deadline` (a performance.now() value). */
  consume: (count: number, deadline: number) => Promise<number>
  close: () => Promise<void>
}

export interface WorkloadSettings {
  messageBytes: number
  /** Sends in flight in the max-rate workload (OpenMessaging's producer window). */
  inFlight: number
  /** The fixed-rate workload's rate as a share of the best max-rate path's rate. */
  fixedRateShare: number
  /** Unmeasured sends before the max-rate measurement (elections, JIT, connections settle). */
  warmupSeconds: number
  /** Length of each measured publish workload. */
  seconds: number
  /** Most messages the consume workload reads, and its time bound. */
  consumeMax: number
  consumeSeconds: number
  /** Most sends in flight in the fixed-rate workload before it counts the rest as missed. */
  fixedRateMaxOutstanding: number
  only: ReadonlySet<WorkloadName>
}

export interface WorkloadFigures extends Partial<LatencySummary> {
  path?: string
  messages: number
  seconds: number
  messagesPerSec: number
  /** Server CPU (all server processes) per message, µs. */
  serverCpuMicrosPerMessage: number
  /** Server CPU over the run as % of one core, summed over the server processes. */
  serverCpuPercent: number
  clientCpuPercent: number
  /** Fixed rate: the rate asked for, and the sends that could not start (too many outstanding). */
  targetPerSec?: number
  missed?: number
  /** [percentile, ms] pairs for the latency plot. */
  curve?: Array<[number, number]>
}

export type TopicFigures = Partial<Record<string, WorkloadFigures>>

function payloadOf (bytes: number): Uint8Array {
  const payload = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i++) payload[i] = 97 + (i % 26)
  return payload
}

function round (value: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

function figuresOf (messages: number, spent: CpuSpent, histogram: Histogram | null): WorkloadFigures {
  const serverCpu = spent.serverCpuSeconds.reduce((a, b) => a + b, 0)
  return {
    messages,
    seconds: round(spent.seconds, 3),
    messagesPerSec: Math.round(messages / spent.seconds),
    serverCpuMicrosPerMessage: messages === 0 ? 0 : round(serverCpu * 1e6 / messages, 1),
    serverCpuPercent: round(serverCpu / spent.seconds * 100, 1),
    clientCpuPercent: round(spent.clientCpuSeconds / spent.seconds * 100, 1),
    ...(histogram === null || histogram.totalCount === 0 ? {} : { ...latencySummary(histogram), curve: percentileCurve(histogram) })
  }
}

/** `window` senders in a closed loop until `seconds` pass; returns the sends acknowledged. */
async function closedLoop (publisher: Publisher, payload: Uint8Array, window: number, seconds: number, histogram: Histogram): Promise<number> {
  const deadline = performance.now() + seconds * 1000
  let acknowledged = 0
  const sender = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const at = performance.now()
      await publisher.send(payload)
      recordSince(histogram, at)
      acknowledged++
    }
  }
  await Promise.all(Array.from({ length: window }, sender))
  return acknowledged
}

/** Tick of the fixed-rate scheduler: every tick starts the sends that came due since the last. */
const FIXED_RATE_TICK_MS = 1

/**
 * Sends at `perSecond` for `seconds` (open loop): message i is due at start + i / perSecond and
 * its latency runs from then. A send that would exceed `maxOutstanding` is counted as missed.
 */
async function openLoop (publisher: Publisher, payload: Uint8Array, perSecond: number, seconds: number, maxOutstanding: number, histogram: Histogram): Promise<{ sent: number, missed: number }> {
  const start = performance.now()
  const total = Math.floor(perSecond * seconds)
  const intervalMs = 1000 / perSecond
  let due = 0
  let outstanding = 0
  let missed = 0
  const pending = new Set<Promise<void>>()
  while (due < total) {
    const nowDue = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1)
    for (; due < nowDue; due++) {
      if (outstanding >= maxOutstanding) {
        missed++
        continue
      }
      const scheduled = start + due * intervalMs
      outstanding++
      const send = publisher.send(payload).then(() => {
        recordSince(histogram, scheduled)
        outstanding--
        pending.delete(send)
      })
      pending.add(send)
    }
    await new Promise((resolve) => { setTimeout(resolve, FIXED_RATE_TICK_MS) })
  }
  await Promise.all(pending)
  return { sent: total - missed, missed }
}

/** Runs the selected workloads on one topic; `pids` are the server processes. */
export async function runWorkloads (target: MessagingTarget, pids: readonly number[], settings: WorkloadSettings): Promise<TopicFigures> {
  const payload = payloadOf(settings.messageBytes)
  const figures: TopicFigures = {}
  let published = 0
  let bestPath = target.publishPaths[0]
  let bestRate = 0
  if (settings.only.has('max-rate') || settings.only.has('fixed-rate')) {
    for (const path of target.publishPaths) {
      const publisher = await target.openPublisher(path, 'max-rate')
      published += await closedLoop(publisher, payload, settings.inFlight, settings.warmupSeconds, newLatencyHistogram())
      const histogram = newLatencyHistogram()
      const { result, spent } = await withCpu(pids, async () => await closedLoop(publisher, payload, settings.inFlight, settings.seconds, histogram))
      await publisher.close()
      published += result
      figures[`max-rate ${path}`] = { path, ...figuresOf(result, spent, histogram) }
      const rate = result / spent.seconds
      if (rate > bestRate) [bestPath, bestRate] = [path, rate]
    }
  }
  if (settings.only.has('fixed-rate')) {
    const perSecond = Math.max(1, Math.round(bestRate * settings.fixedRateShare))
    const publisher = await target.openPublisher(bestPath, 'fixed-rate')
    const histogram = newLatencyHistogram()
    const { result, spent } = await withCpu(pids, async () => await openLoop(publisher, payload, perSecond, settings.seconds, settings.fixedRateMaxOutstanding, histogram))
    await publisher.close()
    published += result.sent
    figures['fixed-rate'] = { path: bestPath, ...figuresOf(result.sent, spent, histogram), targetPerSec: perSecond, missed: result.missed }
  }
  if (settings.only.has('one-at-a-time')) {
    const path = target.publishPaths[0]
    const publisher = await target.openPublisher(path, 'one-at-a-time')
    published += await closedLoop(publisher, payload, 1, settings.warmupSeconds, newLatencyHistogram())
    const histogram = newLatencyHistogram()
    const { result, spent } = await withCpu(pids, async () => await closedLoop(publisher, payload, 1, settings.seconds, histogram))
    await publisher.close()
    published += result
    figures['one-at-a-time'] = { path, ...figuresOf(result, spent, histogram) }
  }
  if (settings.only.has('consume')) {
    if (published === 0) {
      const publisher = await target.openPublisher(target.publishPaths[0], 'max-rate')
      published += await closedLoop(publisher, payload, settings.inFlight, settings.seconds, newLatencyHistogram())
      await publisher.close()
    }
    const count = Math.min(published, settings.consumeMax)
    const consumer = await target.openConsumer()
    try {
      const { result, spent } = await withCpu(pids, async () => await consumer.consume(count, performance.now() + settings.consumeSeconds * 1000))
      figures.consume = figuresOf(result, spent, null)
    } finally {
      await consumer.close()
    }
  }
  return figures
}
