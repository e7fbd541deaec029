// Medians over runs and Blazar/peer ratios for `bench workloads`: the per-run figures of each
// system (topic shape -> workload -> figures) folded into one median figure set, and the
// ratios the acceptance points are stated in.
import { median } from './report.ts'
import type { TopicFigures, WorkloadFigures } from './workloads.ts'

/** Topic shape ("1x100" = 1 partition, 100 B messages) -> workload figures. */
export type SystemFigures = Record<string, TopicFigures>

const NUMERIC_FIELDS = [
  'messages', 'seconds', 'messagesPerSec', 'serverCpuMicrosPerMessage', 'serverCpuPercent', 'clientCpuPercent',
  'p50Ms', 'p99Ms', 'p999Ms', 'maxMs', 'targetPerSec', 'missed'
] as const

function medianFigures (runs: readonly WorkloadFigures[]): WorkloadFigures {
  const folded: Record<string, unknown> = { ...runs[0] }
  for (const field of NUMERIC_FIELDS) {
    const values = runs.map((run) => run[field]).filter((value): value is number => typeof value === 'number')
    if (values.length > 0) folded[field] = Math.round(median(values) * 1000) / 1000
  }
  const curves = runs.map((run) => run.curve).filter((curve) => curve !== undefined)
  if (curves.length > 0) folded.curve = curves[0].map(([percentile], i) => [percentile, median(curves.map((curve) => curve[i][1]))])
  return folded as unknown as WorkloadFigures
}

/** The median of each figure over the runs (a workload missing from a run is left out of its median). */
export function medianOverRuns (runs: readonly SystemFigures[]): SystemFigures {
  const result: SystemFigures = {}
  for (const shape of new Set(runs.flatMap((run) => Object.keys(run)))) {
    const topics = runs.map((run) => run[shape]).filter((topic) => topic !== undefined)
    result[shape] = {}
    for (const workload of new Set(topics.flatMap((topic) => Object.keys(topic)))) {
      const figures = topics.map((topic) => topic[workload]).filter((f) => f !== undefined)
      result[shape][workload] = medianFigures(figures)
    }
  }
  return result
}

/** The peer's fastest max-rate path in `topic`. */
export function bestMaxRate (topic: TopicFigures): WorkloadFigures | undefined {
  return Object.entries(topic).filter(([name]) => name.startsWith('max-rate')).map(([, f]) => f)
    .filter((f) => f !== undefined).sort((a, b) => b.messagesPerSec - a.messagesPerSec)[0]
}

export interface RatioRow {
  shape: string
  measure: string
  blazar: number
  peer: number
  /** blazar / peer. */
  ratio: number
}

function ratioOf (blazar: number, peer: number): number {
  return peer === 0 ? Number.NaN : Math.round(blazar / peer * 100) / 100
}

/** Blazar / peer for each figure the acceptance points name, per topic shape. */
export function ratioRows (blazar: SystemFigures, peer: SystemFigures): RatioRow[] {
  const rows: RatioRow[] = []
  const add = (shape: string, measure: string, b: number | undefined, p: number | undefined): void => {
    if (b !== undefined && p !== undefined) rows.push({ shape, measure, blazar: b, peer: p, ratio: ratioOf(b, p) })
  }
  for (const shape of Object.keys(blazar)) {
    const b = blazar[shape]
    const p = peer[shape]
    if (p === undefined) continue
    const bMax = bestMaxRate(b)
    const pBest = bestMaxRate(p)
    add(shape, `max rate msgs/s (peer: ${pBest?.path ?? '?'})`, bMax?.messagesPerSec, pBest?.messagesPerSec)
    for (const [name, figures] of Object.entries(p)) {
      if (name.startsWith('max-rate') && figures !== undefined && figures !== pBest) add(shape, `max rate msgs/s (peer: ${figures.path ?? '?'})`, bMax?.messagesPerSec, figures.messagesPerSec)
    }
    add(shape, 'max rate server CPU µs/msg', bMax?.serverCpuMicrosPerMessage, pBest?.serverCpuMicrosPerMessage)
    for (const workload of ['fixed-rate', 'one-at-a-time'] as const) {
      add(shape, `${workload} p50 ms`, b[workload]?.p50Ms, p[workload]?.p50Ms)
      add(shape, `${workload} p99 ms`, b[workload]?.p99Ms, p[workload]?.p99Ms)
      add(shape, `${workload} p99.9 ms`, b[workload]?.p999Ms, p[workload]?.p999Ms)
      add(shape, `${workload} max ms`, b[workload]?.maxMs, p[workload]?.maxMs)
      add(shape, `${workload} server CPU µs/msg`, b[workload]?.serverCpuMicrosPerMessage, p[workload]?.serverCpuMicrosPerMessage)
    }
    add(shape, 'consume + ack msgs/s', b.consume?.messagesPerSec, p.consume?.messagesPerSec)
    add(shape, 'consume + ack server CPU µs/msg', b.consume?.serverCpuMicrosPerMessage, p.consume?.serverCpuMicrosPerMessage)
  }
  return rows
}

export function ratioTable (rows: readonly RatioRow[], peer: string): string[] {
  const lines = [`| topic | measure | Blazar | ${peer} | Blazar / ${peer} |`, '|---|---|---|---|---|']
  for (const row of rows) lines.push(`| ${row.shape} | ${row.measure} | ${row.blazar} | ${row.peer} | ${row.ratio} |`)
  return lines
}
