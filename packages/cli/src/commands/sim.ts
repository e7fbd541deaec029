// `blazar sim`: the deterministic simulator from the command line. `run` replays one seed of a
// named scenario (optionally writing its trace), `sweep` runs many seeds in worker processes and
// prints, with --json, one summary object as its last line, `list` names the scenarios.
// `--workload kv|broker|node` picks the workload: the KV registers (default), one broker
// partition with producers and consumers (scenarios of `kind: 'broker'`), or the production
// nodes with their gateway and LogStore on simulated disks (`kind: 'node'`).
import { writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import type { Command } from 'commander'
import type { RaftFaults } from '@blazar/raft'
import type { BrokerFaults, NodeFaults, Scenario, WorkloadKind } from '@blazar/sim'

const scenarioModule = new URL('../../../../simulations/index.ts', import.meta.url).href

// Loaded on use, so `blazar --help` and the other commands never load the simulator or Raft.
const simulator = () => import('@blazar/sim')

const RAFT_FAULTS = ['skipVotePersist', 'commitPreviousTermByCounting', 'skipConflictTruncation', 'grantVoteWithoutLogCheck'] as const
const BROKER_FAULTS = ['ackBeforeCommit', 'deadLetterFreshSequenceIds'] as const
const NODE_FAULTS = ['ackForwardedSendEarly', 'attachCancelledSubscribe', 'unknownTopicWhenBehind', 'dropForwardedFlow', 'releaseAcksOnArrival'] as const
const WORKLOADS: readonly WorkloadKind[] = ['kv', 'broker', 'node']
/** The scenario a sweep runs when none is named. */
const DEFAULT_SCENARIO: Record<WorkloadKind, string> = { kv: 'random', broker: 'broker-random', node: 'node-random' }

async function loadScenarios (): Promise<Scenario[]> {
  const module = await import(scenarioModule) as { scenarios: Scenario[] }
  return module.scenarios
}

function parseInteger (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n)) throw new Error(`not an integer: ${value}`)
  return n
}

function collectFault (value: string, previous: string[]): string[] {
  if (!(RAFT_FAULTS as readonly string[]).includes(value)) throw new Error(`unknown raft fault ${value}; one of ${RAFT_FAULTS.join(', ')}`)
  return [...previous, value]
}

function faultsFrom (names: string[]): RaftFaults | undefined {
  if (names.length === 0) return undefined
  const faults: RaftFaults = {}
  for (const name of names) faults[name as keyof RaftFaults] = true
  return faults
}

function collectBrokerFault (value: string, previous: string[]): string[] {
  if (!(BROKER_FAULTS as readonly string[]).includes(value)) throw new Error(`unknown broker fault ${value}; one of ${BROKER_FAULTS.join(', ')}`)
  return [...previous, value]
}

function brokerFaultsFrom (names: string[]): BrokerFaults | undefined {
  if (names.length === 0) return undefined
  const faults: BrokerFaults = {}
  for (const name of names) faults[name as keyof BrokerFaults] = true
  return faults
}

function collectNodeFault (value: string, previous: string[]): string[] {
  if (!(NODE_FAULTS as readonly string[]).includes(value)) throw new Error(`unknown node fault ${value}; one of ${NODE_FAULTS.join(', ')}`)
  return [...previous, value]
}

function nodeFaultsFrom (names: string[]): NodeFaults | undefined {
  if (names.length === 0) return undefined
  const faults: NodeFaults = {}
  for (const name of names) faults[name as keyof NodeFaults] = true
  return faults
}

function parseWorkload (value: string): WorkloadKind {
  if (!(WORKLOADS as readonly string[]).includes(value)) throw new Error(`unknown workload ${value}; one of ${WORKLOADS.join(', ')}`)
  return value as WorkloadKind
}

/** The named scenario; with --workload given it must be of that workload. */
async function findScenario (name: string, workload: WorkloadKind | undefined): Promise<Scenario> {
  const scenario = (await loadScenarios()).find((candidate) => candidate.name === name)
  if (scenario === undefined) throw new Error(`no scenario named ${name}; see \`blazar sim list\``)
  const kind = scenario.kind ?? 'kv'
  if (workload !== undefined && kind !== workload) throw new Error(`scenario ${name} runs the ${kind} workload, not ${workload}; see \`blazar sim list --workload ${workload}\``)
  return scenario
}

export function registerSim (program: Command): void {
  const sim = program.command('sim').description('deterministic simulation of a Raft group (KV registers or a broker partition) under faults')

  sim.command('list').description('list the named scenarios')
    .option('--workload <kind>', 'only the scenarios of this workload (kv, broker, node)', parseWorkload)
    .action(async (options: { workload?: WorkloadKind }) => {
      for (const scenario of await loadScenarios()) {
        const kind = scenario.kind ?? 'kv'
        if (options.workload !== undefined && options.workload !== kind) continue
        console.log(`${scenario.name.padEnd(28)} [${kind}] ${scenario.description}`)
      }
    })

  sim.command('run')
    .description('run one seed of a scenario; a failure prints the command that replays it')
    .requiredOption('--scenario <name>', 'scenario name (see `blazar sim list`)')
    .requiredOption('--seed <n>', 'seed', parseInteger)
    .option('--workload <kind>', 'the scenario\'s workload: kv, broker or node (default: the scenario\'s)', parseWorkload)
    .option('--nodes <n>', 'cluster size (default: the scenario\'s)', parseInteger)
    .option('--fault-ms <ms>', 'virtual ms of random faults for chaos scenarios', parseInteger)
    .option('--raft-fault <name>', 'turn on a deliberate Raft bug (repeatable)', collectFault, [])
    .option('--broker-fault <name>', 'turn on a deliberate broker bug (repeatable): ackBeforeCommit, deadLetterFreshSequenceIds', collectBrokerFault, [])
    .option('--node-fault <name>', `turn on a deliberate gateway bug (repeatable): ${NODE_FAULTS.join(', ')}`, collectNodeFault, [])
    .option('--trace <file>', 'write the event trace to this file')
    .option('--json', 'print the result as one JSON object on the last line')
    .action(async (options: {
      scenario: string, seed: number, workload?: WorkloadKind, nodes?: number, faultMs?: number, raftFault: string[], brokerFault: string[], nodeFault: string[],
      trace?: string, json?: boolean
    }) => {
      const scenario = await findScenario(options.scenario, options.workload)
      const faults = faultsFrom(options.raftFault)
      const brokerFaults = brokerFaultsFrom(options.brokerFault)
      const nodeFaults = nodeFaultsFrom(options.nodeFault)
      const { runSimulation, replayCommand } = await simulator()
      const result = await runSimulation(scenario, {
        seed: options.seed, nodes: options.nodes, faults, brokerFaults, nodeFaults, faultMs: options.faultMs, keepTrace: options.trace !== undefined, tripwires: true
      })
      if (options.trace !== undefined) writeFileSync(options.trace, result.traceLines.join('\n') + '\n')
      const ops = result.operations
      console.log(`scenario ${result.scenario} seed ${result.seed}: ${result.ok ? 'PASS' : 'FAIL'}; ${result.nodes} nodes, ` +
        `${(result.virtualMs / 1000).toFixed(1)} virtual s, ${result.events} events, ${result.messages} messages, ` +
        `${result.faultsInjected} faults, ${result.queue === undefined ? 'ops' : 'sends'} ok/fail/info ${ops.ok}/${ops.fail}/${ops.info}, max term ${result.maxTerm}, committed ${result.committed}` +
        (result.queue === undefined ? '' : `, ${result.queue.stored} batches stored`))
      console.log(`trace hash ${result.traceHash}`)
      if (result.violation !== null) {
        console.log(`violation ${result.violation.invariant} at t=${result.violation.time}ms: ${result.violation.message}`)
        console.log(`replay: ${replayCommand({ scenario: result.scenario, seed: result.seed, workload: scenario.kind, nodes: options.nodes, faults, brokerFaults, nodeFaults, faultMs: options.faultMs })}`)
        process.exitCode = 1
      }
      if (options.json === true) {
        const { traceLines: _lines, ...summary } = result
        console.log(JSON.stringify(summary))
      }
    })

  sim.command('sweep')
    .description('run seeds [from, from + seeds) in parallel worker processes')
    .option('--from <n>', 'first seed', parseInteger, 1)
    .requiredOption('--seeds <n>', 'number of seeds', parseInteger)
    .option('--workload <kind>', 'kv, broker or node (default: the scenario\'s; kv when no scenario is named)', parseWorkload)
    .option('--scenario <name>', 'scenario name (default: random, broker-random with --workload broker, node-random with --workload node)')
    .option('--nodes <n>', 'cluster size', parseInteger)
    .option('--fault-ms <ms>', 'virtual ms of random faults for chaos scenarios', parseInteger)
    .option('--raft-fault <name>', 'turn on a deliberate Raft bug (repeatable)', collectFault, [])
    .option('--broker-fault <name>', 'turn on a deliberate broker bug (repeatable): ackBeforeCommit, deadLetterFreshSequenceIds', collectBrokerFault, [])
    .option('--node-fault <name>', `turn on a deliberate gateway bug (repeatable): ${NODE_FAULTS.join(', ')}`, collectNodeFault, [])
    .option('--workers <n>', 'worker processes (default: min(2, cores))', parseInteger)
    .option('--json', 'print the summary as one JSON object on the last line')
    .action(async (options: {
      from: number, seeds: number, workload?: WorkloadKind, scenario?: string, nodes?: number, faultMs?: number, raftFault: string[], brokerFault: string[],
      nodeFault: string[], workers?: number, json?: boolean
    }) => {
      const started = process.hrtime.bigint()
      const loadBefore = loadavg()
      let done = 0
      const scenario = await findScenario(options.scenario ?? DEFAULT_SCENARIO[options.workload ?? 'kv'], options.workload)
      const { runSweep } = await simulator()
      const summary = await runSweep({
        scenarioModule,
        scenario: scenario.name,
        workload: scenario.kind,
        from: options.from,
        seeds: options.seeds,
        nodes: options.nodes,
        faults: faultsFrom(options.raftFault),
        brokerFaults: brokerFaultsFrom(options.brokerFault),
        nodeFaults: nodeFaultsFrom(options.nodeFault),
        faultMs: options.faultMs,
        workers: options.workers,
        onSeed: (verdict) => {
          done++
          if (!verdict.ok) console.log(`seed ${verdict.seed} FAILED ${verdict.invariant}: ${verdict.message}`)
          else if (done % 100 === 0) console.log(`${done}/${options.seeds} seeds done`)
        }
      })
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const load = (averages: number[]) => averages.map((average) => average.toFixed(2)).join(' ')
      console.log(`sweep of ${summary.seeds} seeds from ${options.from} (${scenario.name}): ${summary.passed} passed, ${summary.failed} failed in ${seconds.toFixed(1)}s ` +
        `(${Math.round(summary.seeds / seconds * 3600)} seeds/hour; ${availableParallelism()} cores, load average ${load(loadBefore)} at the start, ${load(loadavg())} at the end)`)
      for (const failure of summary.failures) console.log(`replay: ${failure.replay}`)
      console.log(`trace hash ${summary.traceHash}`)
      if (summary.failed > 0) process.exitCode = 1
      if (options.json === true) {
        console.log(JSON.stringify({ seeds: summary.seeds, passed: summary.passed, failed: summary.failed, failures: summary.failures.map(({ seed, invariant, replay }) => ({ seed, invariant, replay })), traceHash: summary.traceHash }))
      }
    })
}
