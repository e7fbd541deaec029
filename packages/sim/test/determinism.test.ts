import t from 'tap'
import { combineTraceHashes, runSimulation, runSweep } from '../src/index.ts'
import { scenarios } from '../../../simulations/index.ts'

const random = scenarios.find((scenario) => scenario.name === 'random')
if (random === undefined) throw new Error('no random scenario')
const scenarioModule = new URL('../../../simulations/index.ts', import.meta.url).href

t.test('the same seed twice gives the same trace hash; another seed another hash', async (t) => {
  const first = await runSimulation(random, { seed: 11, faultMs: 8_000, keepTrace: true })
  const second = await runSimulation(random, { seed: 11, faultMs: 8_000 })
  const other = await runSimulation(random, { seed: 12, faultMs: 8_000 })
  t.ok(first.events > 1_000, `a real run (${first.events} events)`)
  t.equal(second.traceHash, first.traceHash)
  t.not(other.traceHash, first.traceHash)
  t.ok(first.traceLines.length > 1_000)
})

t.test('a sweep in worker processes (tripwires on) reproduces the in-process hashes', async (t) => {
  const local = []
  for (const seed of [21, 22, 23]) local.push((await runSimulation(random, { seed, faultMs: 5_000 })).traceHash)
  const summary = await runSweep({ scenarioModule, scenario: 'random', from: 21, seeds: 3, faultMs: 5_000, batchSize: 2 })
  t.equal(summary.seeds, 3)
  t.equal(summary.failed, 0, JSON.stringify(summary.failures))
  t.equal(summary.traceHash, combineTraceHashes(local))
})
