// Latency histograms for the benches: HDR histograms (hdr-histogram-js) in microseconds, and
// the percentiles reported from them.
import { build, type Histogram } from 'hdr-histogram-js'

/** Latencies are recorded in µs; anything up to this is tracked (sends time out at 30 s). */
const HISTOGRAM_MAX_MICROS = 120_000_000

/** Percentiles drawn in the latency plot and kept in the results as [percentile, ms] pairs. */
export const PLOTTED_PERCENTILES = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100] as const

export function newLatencyHistogram (): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HISTOGRAM_MAX_MICROS, numberOfSignificantValueDigits: 3 })
}

/** Records the time since `startMs` (a performance.now() value). */
export function recordSince (histogram: Histogram, startMs: number): void {
  histogram.recordValue(Math.min(HISTOGRAM_MAX_MICROS, Math.max(1, Math.round((performance.now() - startMs) * 1000))))
}

export function percentileMs (histogram: Histogram, percentile: number): number {
  const micros = percentile >= 100 ? histogram.maxValue : histogram.getValueAtPercentile(percentile)
  return Math.round(micros) / 1000
}

export interface LatencySummary {
  p50Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
}

export function latencySummary (histogram: Histogram): LatencySummary {
  return { p50Ms: percentileMs(histogram, 50), p99Ms: percentileMs(histogram, 99), p999Ms: percentileMs(histogram, 99.9), maxMs: percentileMs(histogram, 100) }
}

/** The histogram as [percentile, ms] pairs at PLOTTED_PERCENTILES. */
export function percentileCurve (histogram: Histogram): Array<[number, number]> {
  return PLOTTED_PERCENTILES.map((p) => [p, percentileMs(histogram, p)])
}
