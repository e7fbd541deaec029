// Every named scenario passes on a couple of seeds (CI's share of the scenario catalogue).
import t from 'tap'
import { runSimulation } from '../src/index.ts'
import { scenarios } from '../../../simulations/index.ts'

for (const scenario of scenarios) {
  t.test(`scenario ${scenario.name}`, async (t) => {
    for (const seed of [1, 2]) {
      const result = await runSimulation(scenario, { seed, faultMs: 15_000 })
      t.equal(result.violation, null, result.violation === null ? `seed ${seed} passes` : `seed ${seed}: ${result.violation.invariant}: ${result.violation.message}`)
    }
  })
}
