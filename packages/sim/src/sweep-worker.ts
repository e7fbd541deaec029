// A sweep worker process: runs the batch of seeds named by its argument one after another with
// the determinism tripwires on, sends its parent one verdict per seed, then exits.
import { runSimulation, type Scenario } from './simulation.ts'
import type { SeedVerdict, SweepWorkerData } from './sweep.ts'

if (process.send === undefined) throw new Error('sweep-worker.ts runs as a child process of runSweep')
const data = JSON.parse(process.argv[2] ?? '') as SweepWorkerData
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
  // Sent before the next seed starts, so a parent sees every verdict a crash did not prevent.
  await new Promise<void>((resolve, reject) => { process.send!(verdict, undefined, undefined, (error) => { if (error === null) resolve(); else reject(error) }) })
}
process.disconnect()
