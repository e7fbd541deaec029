// CI's sweep: a few dozen seeds of the random-fault scenario on 5 nodes, in worker threads.
import t from 'tap'
import { runSweep } from '../src/index.ts'

t.test('30 seeds of random faults on 5 nodes: no violation', async (t) => {
  const summary = await runSweep({
    scenarioModule: new URL('../../../simulations/index.ts', import.meta.url).href,
    scenario: 'random', from: 1000, seeds: 30, nodes: 5, faultMs: 30_000
  })
  t.equal(summary.seeds, 30)
  t.same(summary.failures, [])
  t.match(summary.traceHash, /^[0-9a-f]{64}$/)
})
