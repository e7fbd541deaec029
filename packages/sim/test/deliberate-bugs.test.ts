// Proof the checkers can fail: for each deliberate Raft bug (a RaftFaults switch) a sweep of a
// bounded number of seeds, of a scenario chosen to make the bug bite, finds a violation, and
// each failure names the command that replays it. With the switch off the same scenarios pass
// (scenarios.test.ts, sweep.test.ts).
import t from 'tap'
import type { RaftFaults } from '@blazar/raft'
import { runSweep } from '../src/index.ts'

const scenarioModule = new URL('../../../simulations/index.ts', import.meta.url).href

const cases: Array<{ fault: keyof RaftFaults, scenario: string, seeds: number, invariants: string[], faultMs?: number }> = [
  { fault: 'skipVotePersist', scenario: 'vote-crash', seeds: 6, invariants: ['election-safety'] },
  { fault: 'commitPreviousTermByCounting', scenario: 'figure8', seeds: 6, invariants: ['leader-completeness', 'committed-entries-never-change'] },
  { fault: 'skipConflictTruncation', scenario: 'figure7', seeds: 6, invariants: ['log-matching', 'committed-entries-never-change'] },
  { fault: 'grantVoteWithoutLogCheck', scenario: 'random', seeds: 20, invariants: ['leader-completeness', 'committed-entries-never-change', 'state-machine-safety', 'linearizability'], faultMs: 20_000 }
]

for (const { fault, scenario, seeds, invariants, faultMs } of cases) {
  t.test(`${fault} is caught by a sweep of ${seeds} seeds of ${scenario}`, async (t) => {
    const summary = await runSweep({ scenarioModule, scenario, from: 1, seeds, faults: { [fault]: true }, faultMs })
    t.ok(summary.failed > 0, `${summary.failed} of ${seeds} seeds failed`)
    const first = summary.failures[0]
    if (first === undefined) return
    t.ok(invariants.includes(first.invariant), `seed ${first.seed}: ${first.invariant}: ${first.message}`)
    t.match(first.replay, new RegExp(`^scripts/blazar sim run --scenario ${scenario} --seed ${first.seed}.* --raft-fault ${fault}$`))
  })
}
