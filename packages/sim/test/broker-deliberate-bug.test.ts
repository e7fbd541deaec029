// Proof the queue oracles can fail: with the deliberate broker bug "ack a producer before
// commit" (BrokerFaults.ackBeforeCommit: `send` answers once the batch is appended on the
// leader), a bounded sweep of broker-random finds acknowledged messages lost, and each failure
// names the command that replays it. Without the switch the same seeds pass
// (broker-workload.test.ts, and the 500-seed sweep in docs/broker-simulation.md).
import t from 'tap'
import { runSweep } from '../src/index.ts'

const scenarioModule = new URL('../../../simulations/index.ts', import.meta.url).href
const SEEDS = 8

t.test(`ackBeforeCommit is caught by a sweep of ${SEEDS} seeds of broker-random`, async (t) => {
  const summary = await runSweep({
    scenarioModule, scenario: 'broker-random', workload: 'broker', from: 1, seeds: SEEDS, faultMs: 20_000, brokerFaults: { ackBeforeCommit: true }
  })
  t.ok(summary.failed > 0, `${summary.failed} of ${SEEDS} seeds failed`)
  const lost = summary.failures.filter((failure) => failure.invariant === 'queue-lost-message')
  t.ok(lost.length > 0, `${lost.length} seeds lost an acknowledged message: ${lost[0]?.message}`)
  for (const failure of summary.failures) {
    t.ok(['queue-lost-message', 'queue-order'].includes(failure.invariant), `seed ${failure.seed}: ${failure.invariant}: ${failure.message}`)
    t.equal(failure.replay, `scripts/blazar sim run --workload broker --scenario broker-random --seed ${failure.seed} --fault-ms 20000 --broker-fault ackBeforeCommit`)
  }
})

// The forwarder without outbox positions as sequence ids: every publish attempt is numbered
// anew, so the dead-letter topic's deduplication cannot drop a resend after a lost answer or a
// leader change, and a dead letter is stored twice.
t.test('deadLetterFreshSequenceIds is caught by a sweep of 4 seeds of broker-dead-letter', async (t) => {
  const summary = await runSweep({
    scenarioModule, scenario: 'broker-dead-letter', workload: 'broker', from: 1, seeds: 4, faultMs: 10_000, brokerFaults: { deadLetterFreshSequenceIds: true }
  })
  t.equal(summary.failed, 4, `${summary.failed} of 4 seeds failed`)
  for (const failure of summary.failures) {
    t.equal(failure.invariant, 'queue-dead-letter', `seed ${failure.seed}: ${failure.message}`)
    t.match(failure.message, /reached the dead-letter topic twice/)
    t.equal(failure.replay, `scripts/blazar sim run --workload broker --scenario broker-dead-letter --seed ${failure.seed} --fault-ms 10000 --broker-fault deadLetterFreshSequenceIds`)
  }
})
