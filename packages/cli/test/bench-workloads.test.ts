// `bench workloads` logic, tiny, against an in-memory fake system (no cluster, no NATS, no
// timing assertions): every workload runs and reports, consume reads what was published,
// medians and Blazar/peer ratios fold the runs, and the latency plot draws every series.
import t from 'tap'
import { latencyPlotSvg } from '../src/bench/latency-plot.ts'
import { medianOverRuns, ratioRows, type SystemFigures } from '../src/bench/workload-summary.ts'
import { runWorkloads, WORKLOAD_NAMES, type MessagingTarget, type PublishMode, type WorkloadSettings } from '../src/bench/workloads.ts'

/** A system that stores every message in memory and acknowledges it on the next turn of the event loop. */
function fakeSystem (paths: readonly string[]): MessagingTarget & { stored: () => number, modes: PublishMode[], sizes: Set<number> } {
  let stored = 0
  let acknowledged = 0
  const modes: PublishMode[] = []
  const sizes = new Set<number>()
  return {
    publishPaths: paths,
    stored: () => stored,
    modes,
    sizes,
    openPublisher: async (_path, mode) => {
      modes.push(mode)
      return {
        send: async (payload) => {
          sizes.add(payload.byteLength)
          await new Promise((resolve) => { setImmediate(resolve) })
          stored++
        },
        close: async () => {}
      }
    },
    openConsumer: async () => ({
      consume: async (count) => {
        const received = Math.min(count, stored - acknowledged)
        acknowledged += received
        return received
      },
      close: async () => {}
    }),
    close: async () => {}
  }
}

const settings: WorkloadSettings = {
  messageBytes: 100,
  inFlight: 8,
  fixedRateShare: 0.5,
  warmupSeconds: 0.01,
  seconds: 0.05,
  consumeMax: 1_000_000,
  consumeSeconds: 1,
  fixedRateMaxOutstanding: 1_000,
  only: new Set(WORKLOAD_NAMES)
}

t.test('every workload runs against a system and reports its figures', async (t) => {
  const system = fakeSystem(['fast', 'slow'])
  const figures = await runWorkloads(system, [process.pid], settings)
  t.same(Object.keys(figures).sort(), ['consume', 'fixed-rate', 'max-rate fast', 'max-rate slow', 'one-at-a-time'])
  t.same(system.modes, ['max-rate', 'max-rate', 'fixed-rate', 'one-at-a-time'])
  t.same([...system.sizes], [100])
  for (const name of ['max-rate fast', 'fixed-rate', 'one-at-a-time']) {
    const f = figures[name]
    t.ok(f !== undefined && f.messages > 0, `${name} sent messages`)
    t.ok(f?.p50Ms !== undefined && f.p99Ms !== undefined && f.p999Ms !== undefined && f.maxMs !== undefined, `${name} has latency percentiles`)
    t.ok(f !== undefined && f.p50Ms !== undefined && f.maxMs !== undefined && f.p50Ms <= f.maxMs, `${name}: p50 <= max`)
    t.ok(f?.curve !== undefined && f.curve.length > 0, `${name} has a curve for the plot`)
  }
  const fixed = figures['fixed-rate']
  t.ok(fixed?.targetPerSec !== undefined && fixed.targetPerSec >= 1, 'the fixed rate is derived from the max rate')
  t.equal((fixed?.messages ?? 0) + (fixed?.missed ?? 0), Math.floor((fixed?.targetPerSec ?? 0) * settings.seconds), 'every scheduled send is sent or counted as missed')
  t.equal(figures.consume?.messages, system.stored(), 'consume reads everything published, warm-ups included')
})

t.test('only the selected workloads run; consume alone publishes its own backlog first', async (t) => {
  const system = fakeSystem(['only'])
  const figures = await runWorkloads(system, [process.pid], { ...settings, only: new Set(['consume']) })
  t.same(Object.keys(figures), ['consume'])
  t.ok((figures.consume?.messages ?? 0) > 0)
  t.equal(figures.consume?.messages, system.stored())
})

t.test('medians over runs and Blazar / peer ratios', async (t) => {
  const run = (rate: number, p50: number): SystemFigures => ({
    '1x100': {
      'max-rate send': { path: 'send', messages: rate, seconds: 1, messagesPerSec: rate, serverCpuMicrosPerMessage: 10, serverCpuPercent: 50, clientCpuPercent: 10 },
      'one-at-a-time': { path: 'send', messages: 10, seconds: 1, messagesPerSec: 10, serverCpuMicrosPerMessage: 100, serverCpuPercent: 5, clientCpuPercent: 1, p50Ms: p50, p99Ms: p50 * 2, p999Ms: p50 * 3, maxMs: p50 * 4, curve: [[50, p50], [100, p50 * 4]] }
    }
  })
  const blazar = medianOverRuns([run(100, 1), run(300, 3), run(200, 2)])
  t.equal(blazar['1x100']['max-rate send']?.messagesPerSec, 200)
  t.same(blazar['1x100']['one-at-a-time']?.curve, [[50, 2], [100, 8]])
  const peer: SystemFigures = {
    '1x100': {
      'max-rate a': { path: 'a', messages: 50, seconds: 1, messagesPerSec: 50, serverCpuMicrosPerMessage: 5, serverCpuPercent: 1, clientCpuPercent: 1 },
      'max-rate b': { path: 'b', messages: 400, seconds: 1, messagesPerSec: 400, serverCpuMicrosPerMessage: 5, serverCpuPercent: 1, clientCpuPercent: 1 },
      'one-at-a-time': { path: 'a', messages: 10, seconds: 1, messagesPerSec: 10, serverCpuMicrosPerMessage: 50, serverCpuPercent: 1, clientCpuPercent: 1, p50Ms: 1, p99Ms: 2, p999Ms: 3, maxMs: 4 }
    }
  }
  const rows = ratioRows(blazar, peer)
  t.equal(rows.find((row) => row.measure === 'max rate msgs/s (peer: b)')?.ratio, 0.5, 'against the peer\'s best path')
  t.equal(rows.find((row) => row.measure === 'max rate msgs/s (peer: a)')?.ratio, 4, 'and its other paths')
  t.equal(rows.find((row) => row.measure === 'one-at-a-time p50 ms')?.ratio, 2)
  t.equal(rows.find((row) => row.measure === 'one-at-a-time server CPU µs/msg')?.ratio, 2)
})

t.test('the latency plot has a panel per workload and a line per system', async (t) => {
  const svg = latencyPlotSvg('plot <title>', [
    { title: 'one-at-a-time, 1 × 100 B', series: [{ label: 'blazar', curve: [[0, 0.5], [50, 1], [99, 5], [100, 9]] }, { label: 'nats', curve: [[0, 0.1], [50, 0.3], [100, 2]] }] },
    { title: 'fixed-rate, 1 × 100 B', series: [{ label: 'blazar', curve: [[50, 2], [100, 20]] }] }
  ])
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  t.match(svg, /<\/svg>\n$/)
  t.equal(svg.match(/<polyline /g)?.length, 3)
  t.match(svg, /plot &lt;title&gt;/)
  t.notMatch(svg, /NaN|Infinity/)
})
