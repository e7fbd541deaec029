// `blazar bench raft`: committed proposals per wall-clock second for a 3-node Raft group in
// the deterministic simulator (no disk, no network delay), with entry batching and without
// (one entry per AppendEntries). Medians over --runs runs.
import type { BenchRegistration } from './bench.ts'
import { median, writeBenchReport } from '../bench/report.ts'

interface RaftBenchOptions {
  proposals: string
  window: string
  runs: string
  json?: boolean
}

export const registerRaftBench: BenchRegistration = (bench) => {
  bench.command('raft')
    .description('committed proposals per wall-clock second, 3-node group in the simulator, with and without batching')
    .option('--proposals <n>', 'proposals per run', '20000')
    .option('--window <n>', 'proposals in flight at once', '256')
    .option('--runs <n>', 'runs per configuration (median reported)', '3')
    .option('--json', 'print the figures as one JSON object on the last line')
    .action(async (options: RaftBenchOptions) => {
      const { measureRaftThroughput } = await import('@blazar/sim')
      const proposals = Number(options.proposals)
      const window = Number(options.window)
      const runs = Number(options.runs)
      const figures: Record<string, number> = {}
      const summary: string[] = []
      for (const batching of [true, false]) {
        const rates: number[] = []
        const messages: number[] = []
        for (let run = 0; run < runs; run++) {
          const result = await measureRaftThroughput({ proposals, window, batching, seed: run + 1 })
          rates.push(result.perSecond)
          messages.push(result.messages / result.committed)
        }
        const label = batching ? 'batched' : 'unbatched'
        figures[`${label}CommitsPerSec`] = Math.round(median(rates))
        figures[`${label}MessagesPerCommit`] = Number(median(messages).toFixed(2))
        summary.push(`${label}: ${Math.round(median(rates))} committed proposals/s (median of ${runs} runs of ${proposals}, ${window} in flight; ${median(messages).toFixed(2)} messages per commit)`)
      }
      figures.proposalsPerRun = proposals
      figures.window = window
      writeBenchReport({ bench: 'raft', runs, figures, summary }, { json: options.json === true })
    })
}
