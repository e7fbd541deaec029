// A sweep worker thread: runs its batch of seeds one after another with the determinism
// tripwires on, posting one verdict per seed.
import { parentPort, workerData } from 'node:worker_threads'
import { runSimulation, type Scenario } from './simulation.ts'
import type { SeedVerdict, SweepWorkerData } from './sweep.ts'

const data = workerData as SweepWorkerData
const module = await import(data.scenarioModule) as { scenarios: Scenario[] }
const scenario = module.scenarios.find((candidate) => candidate.name === data.scenario)
if (scenario === undefined) throw new Error(`no scenario named ${data.scenario}`)
for (const seed of data.seeds) {
  const result = await runSimulation(scenario, {
    seed, nodes: data.nodes, faults: data.faults, brokerFaults: data.brokerFaults, nodeFaults: data.nodeFaults, faultMs: data.faultMs, tripwires: true
  })
  const verdict: SeedVerdict = {
    seed,
    ok: result.ok,
    invariant: result.violation?.invariant,
    message: result.violation === null ? undefined : `${result.violation.message} (at t=${result.violation.time}ms)`,
    traceHash: result.traceHash,
    virtualMs: result.virtualMs,
    events: result.events
  }
  parentPort?.postMessage(verdict)
}
