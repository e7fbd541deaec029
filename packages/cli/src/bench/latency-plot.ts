// The latency plot of `bench workloads`: one SVG with a panel per workload and topic shape,
// latency (log scale, ms) over percentile (HdrHistogram's "1 / (1 - p)" scale), one line per
// system. Plain SVG text, no dependencies.

export interface PlotSeries {
  label: string
  /** [percentile, ms] pairs, percentiles ascending. */
  curve: ReadonlyArray<readonly [number, number]>
}

export interface PlotPanel {
  title: string
  series: PlotSeries[]
}

const PANEL_WIDTH = 360
const PANEL_HEIGHT = 240
const MARGIN = { left: 56, right: 16, top: 28, bottom: 40 }
const COLUMNS = 4
const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd']
/** The x axis ends at 99.999 (the maximum is drawn there). */
const MAX_NINES = 5
const PERCENTILE_TICKS = [0, 90, 99, 99.9, 99.99]

function nines (percentile: number): number {
  return percentile >= 100 ? MAX_NINES : Math.min(MAX_NINES, -Math.log10(1 - percentile / 100))
}

function escapeXml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function panelSvg (panel: PlotPanel, x0: number, y0: number): string {
  const width = PANEL_WIDTH - MARGIN.left - MARGIN.right
  const height = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom
  const values = panel.series.flatMap((series) => series.curve.map(([, ms]) => Math.max(ms, 0.001)))
  const low = Math.floor(Math.log10(Math.min(...values, 1)))
  const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...values, 1))))
  const px = (percentile: number): number => x0 + MARGIN.left + nines(percentile) / MAX_NINES * width
  const py = (ms: number): number => y0 + MARGIN.top + height - (Math.log10(Math.max(ms, 0.001)) - low) / (high - low) * height
  const parts = [
    `<text x="${x0 + MARGIN.left}" y="${y0 + 18}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<rect x="${x0 + MARGIN.left}" y="${y0 + MARGIN.top}" width="${width}" height="${height}" fill="none" stroke="#999"/>`
  ]
  for (const p of PERCENTILE_TICKS) {
    parts.push(`<line x1="${px(p)}" y1="${y0 + MARGIN.top}" x2="${px(p)}" y2="${y0 + MARGIN.top + height}" stroke="#eee"/>`,
      `<text x="${px(p)}" y="${y0 + MARGIN.top + height + 14}" font-size="10" text-anchor="middle">${p}%</text>`)
  }
  parts.push(`<text x="${x0 + MARGIN.left + width / 2}" y="${y0 + PANEL_HEIGHT - 6}" font-size="10" text-anchor="middle">percentile (right edge: max)</text>`)
  for (let decade = low; decade <= high; decade++) {
    const ms = 10 ** decade
    parts.push(`<line x1="${x0 + MARGIN.left}" y1="${py(ms)}" x2="${x0 + MARGIN.left + width}" y2="${py(ms)}" stroke="#eee"/>`,
      `<text x="${x0 + MARGIN.left - 4}" y="${py(ms) + 3}" font-size="10" text-anchor="end">${ms >= 1 ? ms : ms.toFixed(-decade)} ms</text>`)
  }
  panel.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length]
    const points = series.curve.map(([p, ms]) => `${px(p).toFixed(1)},${py(ms).toFixed(1)}`).join(' ')
    parts.push(`<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${x0 + MARGIN.left + 6}" y="${y0 + MARGIN.top + 14 + i * 13}" font-size="11" fill="${colour}">${escapeXml(series.label)}</text>`)
  })
  return parts.join('\n')
}

export function latencyPlotSvg (title: string, panels: readonly PlotPanel[]): string {
  const columns = Math.min(COLUMNS, Math.max(1, panels.length))
  const rows = Math.ceil(panels.length / columns)
  const width = columns * PANEL_WIDTH
  const height = rows * PANEL_HEIGHT + 30
  const body = panels.map((panel, i) => panelSvg(panel, (i % columns) * PANEL_WIDTH, 30 + Math.floor(i / columns) * PANEL_HEIGHT))
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="8" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    ''
  ].join('\n')
}
