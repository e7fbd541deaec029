// One seeded run of the node workload (`kind: 'node'` scenarios): the production nodes of
// node-world.ts, the clients of node-workload.ts and the node nemesis on one virtual clock,
// run event by event like Simulation (promise continuations settled between events, oracles
// consulted after each), then the recovery phase: every fault heals, a leader of the
// partition must appear, and everything stored must be delivered and acknowledged within a
// bound; then the final queue checks. Returns the same SimulationResult as the other workloads.
import { SeededRandom, VirtualClock, type NodeId } from '@blazar/env'
import type { RaftConfig } from '@blazar/raft'
import { EventSettler, runScenarioScript, SimulationStopped, stepUntil } from './event-loop.ts'
import { calmNetwork } from './network.ts'
import { splitNodeFaults, type SimNodeFaults } from './node-faults.ts'
import { NodeNemesis, defaultNodeNemesis, type NodeNemesisOptions } from './node-nemesis.ts'
import { NODE_TOPIC, NodeWorkload } from './node-workload.ts'
import { NodeWorld } from './node-world.ts'
import { Oracles, type InvariantName } from './oracles.ts'
import { QueueOracles } from './queue-oracles.ts'
import { Trace } from './trace.ts'
import { installTripwires } from './tripwires.ts'
import type { Scenario, SimulationOptions, SimulationResult } from './simulation.ts'
import { BROKER_DRAIN_TIMEOUTS, simRaftConfig } from './simulation.ts'

/** Virtual ms the nodes get to elect the metadata leader and register before the clients start. */
export const NODE_STARTUP_MS = 2_000


export class NodeSimulation {
  readonly seed: number
  readonly clock = new VirtualClock()
  readonly trace: Trace
  readonly oracles: Oracles
  readonly queue: QueueOracles
  readonly world: NodeWorld
  readonly workload: NodeWorkload
  readonly nemesis: NodeNemesis
  readonly raftConfig: Partial<RaftConfig>
  readonly faultMs: number
  /** Runs after every event: continuations, the oracles, the runaway bound. */
  readonly settler: EventSettler
  private over = false

  constructor (options: {
    seed: number, nodes: number, raftConfig: Partial<RaftConfig>, keepTrace: boolean, faultMs: number, faults?: SimNodeFaults, nemesis?: NodeNemesisOptions, reReplicationDelayMs?: number
  }) {
    this.seed = options.seed
    this.faultMs = options.faultMs
    this.raftConfig = options.raftConfig
    const root = new SeededRandom(options.seed)
    const worldRandom = root.fork()
    const workloadRandom = root.fork()
    const nemesisRandom = root.fork()
    this.trace = new Trace({ keepLines: options.keepTrace })
    this.oracles = new Oracles(() => this.clock.now())
    this.settler = new EventSettler(this.clock, this.oracles, () => this.world.nodeErrors)
    this.queue = new QueueOracles((invariant, message) => this.oracles.report(invariant, message))
    const nodeIds: NodeId[] = []
    for (let i = 1; i <= options.nodes; i++) nodeIds.push(`n${i}`)
    const record = (line: string): void => { this.record(line) }
    const faults = splitNodeFaults(options.faults)
    this.world = new NodeWorld({
      clock: this.clock, random: worldRandom, nodeIds, raftConfig: options.raftConfig, faults: faults.node, oracles: this.queue, group: NODE_TOPIC, record,
      ...(options.reReplicationDelayMs === undefined ? {} : { reReplicationDelayMs: options.reReplicationDelayMs })
    })
    this.workload = new NodeWorkload({ world: this.world, oracles: this.queue, random: workloadRandom, record, clientFaults: faults.client })
    this.nemesis = new NodeNemesis(this.world, nemesisRandom, options.nemesis ?? defaultNodeNemesis)
  }

  record (line: string): void {
    if (this.over) return
    this.trace.record(this.clock.now(), line)
  }

  /**
   * The verdict is in: nothing more is recorded. A run stopped by a violation leaves promise
   * continuations of its nodes behind; what they log after the trace's hash is not the run's.
   */
  end (): void {
    this.over = true
  }

  get electionTimeoutMs (): number {
    return this.raftConfig.electionTimeoutMs ?? 1_000
  }

  async runFor (ms: number): Promise<void> {
    await stepUntil(this.clock, this.clock.now() + ms, this.settler.afterEvent)
  }

  async runUntil (done: () => boolean, maxMs: number): Promise<boolean> {
    return await stepUntil(this.clock, this.clock.now() + maxMs, this.settler.afterEvent, done)
  }

  fail (invariant: InvariantName, message: string): never {
    this.oracles.report(invariant, message)
    throw new SimulationStopped()
  }

  /**
   * The standard run: start, clients, random faults for faultMs (with `during` started alongside
   * the nemesis, e.g. an operator's admin requests), then recovery and the final queue checks.
   */
  async chaos (during?: () => void): Promise<void> {
    this.world.start()
    await this.runFor(NODE_STARTUP_MS)
    this.workload.start()
    await this.runFor(1_000)
    this.nemesis.start()
    during?.()
    await this.runFor(this.faultMs)
    await this.recover()
  }

  /** Heals everything, then: a partition leader within 10 election timeouts, the queue drained within the broker bound, the final checks. */
  async recover (): Promise<void> {
    const world = this.world
    this.nemesis.healAll()
    world.network.healAll()
    world.network.profile = calmNetwork
    for (const id of world.ids()) {
      const process = world.process(id)
      process.disk.latencyMs = 0
      process.disk.full = false
      if (process.runtime.state === 'paused') world.resume(id)
      if (process.runtime.state === 'crashed') world.restart(id)
    }
    this.workload.stop()
    this.record('recovery')
    const leaderBound = 10 * this.electionTimeoutMs + 5_000
    if (!await this.runUntil(() => world.leaderOf(NODE_TOPIC) !== null, leaderBound)) {
      this.fail('liveness-leader', `no leader of ${NODE_TOPIC} within ${leaderBound}ms of healing (max term ${world.maxTerm(NODE_TOPIC)})`)
    }
    const bound = BROKER_DRAIN_TIMEOUTS * this.electionTimeoutMs + 10_000
    const drained = await this.runUntil(() => this.workload.drained(world.leaderOf(NODE_TOPIC)), bound)
    this.record(`node drain ${drained ? 'done' : 'incomplete'} consumers ${this.workload.describeConsumers()}`)
    const problem = this.workload.finalCheck(world.leaderOf(NODE_TOPIC))
    if (problem !== null) this.fail(problem[0], problem[1])
    if (!drained) {
      const stats = this.queue.stats()
      this.fail('queue-liveness', `${bound}ms after healing not everything stored (${stats.stored} batches) is delivered and acknowledged by every subscription; ${this.workload.sendsInFlight} sends unsettled; consumers ${this.workload.describeConsumers()}`)
    }
  }

}

/** Runs a node scenario for one seed and returns the verdict. */
export async function runNodeSimulation (scenario: Scenario, options: SimulationOptions): Promise<SimulationResult> {
  const nodes = options.nodes ?? scenario.nodesForSeed?.(options.seed) ?? scenario.nodes ?? 3
  const sim = new NodeSimulation({
    seed: options.seed,
    nodes,
    raftConfig: { ...simRaftConfig, ...scenario.raftConfig },
    keepTrace: options.keepTrace ?? false,
    faultMs: options.faultMs ?? 30_000,
    faults: options.nodeFaults,
    nemesis: scenario.nodeNemesis === undefined ? undefined : { ...defaultNodeNemesis, ...scenario.nodeNemesis },
    ...(scenario.reReplicationDelayMs === undefined ? {} : { reReplicationDelayMs: scenario.reReplicationDelayMs })
  })
  sim.record(`seed ${options.seed} scenario ${scenario.name} nodes ${nodes}`)
  const restore = options.tripwires === true ? installTripwires() : null
  try {
    await runScenarioScript((invariant, message) => { sim.oracles.report(invariant, message) }, async () => { await (scenario.runNode ?? ((run) => run.chaos()))(sim) })
  } finally {
    restore?.()
  }
  const violation = sim.oracles.violation
  if (violation !== null) sim.record(`violation ${violation.invariant}: ${violation.message}`)
  const traceHash = sim.trace.hash()
  sim.end()
  const queue = sim.queue.stats()
  return {
    scenario: scenario.name,
    seed: options.seed,
    nodes,
    ok: violation === null,
    violation,
    traceHash,
    traceLines: sim.trace.lines(),
    virtualMs: sim.clock.now(),
    events: sim.settler.events,
    messages: sim.world.network.delivered,
    faultsInjected: sim.nemesis.injected,
    operations: { ok: queue.acked, fail: queue.failedDefinite, info: queue.sends - queue.acked - queue.failedDefinite },
    maxTerm: sim.world.maxTerm(NODE_TOPIC),
    committed: 0,
    queue
  }
}
