// Writes a benchmark's figures: a human summary on stdout, a JSON record under bench/results/
// (machine, date, runs, figures), and with --json a last stdout line holding the figures.
import { cpus, totalmem, platform, release } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type BenchFigures = Record<string, JsonValue>

export interface BenchReport {
  /** Short name of the bench, e.g. `storage`; the results file is named after it. */
  bench: string
  /** How many runs each median is taken over. */
  runs: number
  figures: BenchFigures
  /** Lines shown to a person before the JSON. */
  summary: string[]
}

/** bench/results/ in the checkout. */
export const RESULTS_DIR = join(import.meta.dirname, '..', '..', '..', '..', 'bench', 'results')

export function machineDescription (): Record<string, string | number> {
  const cpu = cpus()
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version
  }
}

export function writeBenchReport (report: BenchReport, options: { json: boolean, resultsDir?: string }): string {
  const date = new Date().toISOString()
  const record = { bench: report.bench, date, machine: machineDescription(), runs: report.runs, figures: report.figures }
  const dir = options.resultsDir ?? RESULTS_DIR
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${report.bench}-${date.slice(0, 10)}.json`)
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n')
  for (const line of report.summary) console.log(line)
  console.log(`recorded in ${file}`)
  if (options.json) console.log(JSON.stringify(report.figures))
  return file
}

/** Median of a non-empty list of numbers. */
export function median (values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
