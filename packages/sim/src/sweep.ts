// The sweep runner: seeds [from, from + count) of one scenario, run in parallel worker
// processes (a fresh process per batch of seeds, so module-level state such as xstate's id
// counter never leaks between batches beyond its own), results gathered in seed order, one
// combined trace hash, and for every failing seed the exact command that replays it.
//
// Processes, not worker threads, so each lane can run V8 with SWEEP_WORKER_V8_FLAGS: threads
// share one V8 and its process-wide flags.
import { fork } from 'node:child_process'
import { availableParallelism } from 'node:os'
import type { RaftFaults } from '@blazar/raft'
import type { SimNodeFaults } from './node-faults.ts'
import type { BrokerFaults } from './broker-host.ts'
import type { InvariantName } from './oracles.ts'
import type { WorkloadKind } from './simulation.ts'
import { combineTraceHashes } from './trace.ts'

export interface SweepOptions {
  /** URL of a module exporting `scenarios: Scenario[]`. */
  scenarioModule: string
  scenario: string
  /** The scenario's workload, named in replay commands (default kv). */
  workload?: WorkloadKind
  from: number
  seeds: number
  nodes?: number
  faults?: RaftFaults
  brokerFaults?: BrokerFaults
  nodeFaults?: SimNodeFaults
  faultMs?: number
  /** Worker processes at once (default: min(2, cores)). */
  workers?: number
  /** Seeds per worker before it is replaced (default: up to 100, a quarter of each lane's share). */
  batchSize?: number
  /** Called after each seed with its verdict (progress output). */
  onSeed?: (result: SeedVerdict) => void
}

export interface SeedVerdict {
  seed: number
  ok: boolean
  invariant?: InvariantName
  message?: string
  traceHash: string
  virtualMs: number
  events: number
}

export interface SweepFailure {
  seed: number
  invariant: string
  message: string
  replay: string
}

export interface SweepSummary {
  seeds: number
  passed: number
  failed: number
  failures: SweepFailure[]
  traceHash: string
}

/** A worker process's batch, passed as its one argument (JSON). */
export interface SweepWorkerData {
  scenarioModule: string
  scenario: string
  seeds: number[]
  nodes?: number
  faults?: RaftFaults
  brokerFaults?: BrokerFaults
  nodeFaults?: SimNodeFaults
  faultMs?: number
}

/**
 * V8 flags of every sweep worker. A seed allocates a lot of short-lived garbage; V8's parallel
 * and concurrent collectors run helper threads that compete with the other lane for the same
 * cores, so with one lane per core a collector on the lane's own thread costs less.
 * `scripts/blazar sim sweep --workload node --from 2001 --seeds 100` (which prints its own time
 * and load) took 96.1 s with threads and the default collector and 66.4 s with this flag and
 * the two other changes of commit 4625593. Garbage collection is not observable by a seed, so
 * trace hashes do not change.
 */
export const SWEEP_WORKER_V8_FLAGS = ['--single-threaded-gc']

/** Seeds one sweep may run, at most. */
export const MAX_SWEEP_SEEDS = 1_000_000

export function replayCommand (options: {
  scenario: string, seed: number, workload?: WorkloadKind, nodes?: number, faults?: RaftFaults, brokerFaults?: BrokerFaults, nodeFaults?: SimNodeFaults, faultMs?: number
}): string {
  const workload = options.workload === 'broker' || options.workload === 'node' ? ` --workload ${options.workload}` : ''
  let command = `scripts/blazar sim run${workload} --scenario ${options.scenario} --seed ${options.seed}`
  if (options.nodes !== undefined) command += ` --nodes ${options.nodes}`
  if (options.faultMs !== undefined) command += ` --fault-ms ${options.faultMs}`
  for (const [fault, on] of Object.entries(options.faults ?? {})) if (on === true) command += ` --raft-fault ${fault}`
  for (const [fault, on] of Object.entries(options.brokerFaults ?? {})) if (on === true) command += ` --broker-fault ${fault}`
  for (const [fault, on] of Object.entries(options.nodeFaults ?? {})) if (on === true) command += ` --node-fault ${fault}`
  return command
}

export async function runSweep (options: SweepOptions): Promise<SweepSummary> {
  if (!(options.seeds > 0 && options.seeds <= MAX_SWEEP_SEEDS)) throw new RangeError(`seeds must be in 1..${MAX_SWEEP_SEEDS}`)
  const workers = Math.max(1, options.workers ?? Math.min(2, availableParallelism()))
  // Big enough to amortize a worker's start (module load, JIT warm-up), small enough to
  // keep both workers busy to the end.
  const batchSize = options.batchSize ?? Math.min(100, Math.max(5, Math.ceil(options.seeds / (workers * 4))))
  const batches: number[][] = []
  for (let i = 0; i < options.seeds; i += batchSize) {
    const batch: number[] = []
    for (let j = i; j < Math.min(options.seeds, i + batchSize); j++) batch.push(options.from + j)
    batches.push(batch)
  }
  const verdicts = new Map<number, SeedVerdict>()
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]
      await runBatch(options, batch, (verdict) => {
        verdicts.set(verdict.seed, verdict)
        options.onSeed?.(verdict)
      })
    }
  }
  await Promise.all(Array.from({ length: Math.min(workers, batches.length) }, lane))
  const ordered: SeedVerdict[] = []
  for (let i = 0; i < options.seeds; i++) {
    const verdict = verdicts.get(options.from + i)
    if (verdict === undefined) throw new Error(`seed ${options.from + i} produced no verdict`)
    ordered.push(verdict)
  }
  const failures: SweepFailure[] = ordered.filter((v) => !v.ok).map((v) => ({
    seed: v.seed,
    invariant: v.invariant ?? 'unknown',
    message: v.message ?? '',
    replay: replayCommand({
      scenario: options.scenario, seed: v.seed, workload: options.workload, nodes: options.nodes, faults: options.faults, brokerFaults: options.brokerFaults, nodeFaults: options.nodeFaults,
      faultMs: options.faultMs
    })
  }))
  return {
    seeds: ordered.length,
    passed: ordered.length - failures.length,
    failed: failures.length,
    failures,
    traceHash: combineTraceHashes(ordered.map((v) => v.traceHash))
  }
}

function runBatch (options: SweepOptions, seeds: number[], onVerdict: (verdict: SeedVerdict) => void): Promise<void> {
  const data: SweepWorkerData = {
    scenarioModule: options.scenarioModule, scenario: options.scenario, seeds, nodes: options.nodes, faults: options.faults,
    brokerFaults: options.brokerFaults, nodeFaults: options.nodeFaults, faultMs: options.faultMs
  }
  return new Promise((resolve, reject) => {
    const worker = fork(new URL('./sweep-worker.ts', import.meta.url), [JSON.stringify(data)], {
      execArgv: [...process.execArgv, ...SWEEP_WORKER_V8_FLAGS],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    let seen = 0
    worker.on('message', (verdict: SeedVerdict) => {
      seen++
      onVerdict(verdict)
    })
    worker.on('error', reject)
    worker.on('exit', (code, signal) => {
      if (seen === seeds.length) resolve()
      else reject(new Error(`sweep worker for seeds ${seeds[0]}..${seeds[seeds.length - 1]} exited with ${signal ?? `code ${code}`} after ${seen} seeds`))
    })
  })
}
