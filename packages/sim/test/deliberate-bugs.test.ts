// Proof the checkers can fail: each deliberate Raft bug (a RaftFaults switch) is found by a
// bounded number of seeds of a scenario chosen to make it bite, and the same scenarios pass
// with the switch off (scenarios.test.ts).
import t from 'tap'
import type { RaftFaults } from '@blazar/raft'
import { runSimulation } from '../src/index.ts'
import { scenarios } from '../../../simulations/index.ts'

const MAX_SEEDS = 20

const cases: Array<{ fault: keyof RaftFaults, scenario: string, faultMs?: number }> = [
  { fault: 'skipVotePersist', scenario: 'vote-crash' },
  { fault: 'commitPreviousTermByCounting', scenario: 'figure8' },
  { fault: 'skipConflictTruncation', scenario: 'figure7' },
  { fault: 'grantVoteWithoutLogCheck', scenario: 'random', faultMs: 20_000 }
]

for (const { fault, scenario: name, faultMs } of cases) {
  t.test(`${fault} is caught by ${name} within ${MAX_SEEDS} seeds`, async (t) => {
    const scenario = scenarios.find((candidate) => candidate.name === name)
    if (scenario === undefined) throw new Error(`no scenario ${name}`)
    let found: string | null = null
    for (let seed = 1; seed <= MAX_SEEDS && found === null; seed++) {
      const result = await runSimulation(scenario, { seed, faults: { [fault]: true }, faultMs })
      if (result.violation !== null) found = `seed ${seed}: ${result.violation.invariant}: ${result.violation.message}`
    }
    t.ok(found !== null, found ?? 'no violation found')
    t.comment(found ?? '')
  })
}
