// One seeded simulation run: builds the world from one seed (a forked PRNG stream per
// component, in a fixed order), runs a scenario script against it event by event (promise
// continuations settled between events, the oracles consulted after each), then checks
// liveness and the workload's history (linearizability of the KV registers, or the queue
// oracles of the broker workload) and returns the verdict with the trace hash.
import { EventSettler, runScenarioScript, SimulationStopped, stepUntil } from './event-loop.ts'
import { SeededRandom, VirtualClock, type NodeId } from '@blazar/env'
import type { RaftConfig, RaftFaults } from '@blazar/raft'
import { BrokerHost, type BrokerFaults } from './broker-host.ts'
import { BrokerWorkload, defaultBrokerWorkload, type BrokerWorkloadOptions } from './broker-workload.ts'
import { Cluster } from './cluster.ts'
import { KV_WRITE_KIND, encodeWrite } from './kv-register.ts'
import { checkLinearizable } from './linearizability.ts'
import { Nemesis, defaultNemesis, type NemesisOptions } from './nemesis.ts'
import { calmNetwork } from './network.ts'
import { Oracles, type InvariantName, type Violation } from './oracles.ts'
import { QueueOracles } from './queue-oracles.ts'
import { Trace } from './trace.ts'
import { installTripwires } from './tripwires.ts'
import type { SimNodeFaults } from './node-faults.ts'
import type { NodeNemesisOptions } from './node-nemesis.ts'
import type { NodeSimulation } from './node-simulation.ts'
import { Workload, defaultWorkload, type WorkloadOptions } from './workload.ts'

/** Raft timing used by the simulator unless a scenario overrides it. */
export const simRaftConfig: Partial<RaftConfig> = {
  electionTimeoutMs: 600,
  heartbeatIntervalMs: 150
}

/** Election timeouts the recovery phase gives the broker to deliver and acknowledge everything. */
export const BROKER_DRAIN_TIMEOUTS = 20

/** What the cluster replicates and the clients do: KV registers, one broker partition, or the production nodes (node-simulation.ts). */
export type WorkloadKind = 'kv' | 'broker' | 'node'

export interface Scenario {
  name: string
  description: string
  /** The workload (default `kv`). */
  kind?: WorkloadKind
  /** Cluster size when the caller does not choose one. */
  nodes?: number
  /** Cluster size per seed when the caller does not choose one (overrides `nodes`). */
  nodesForSeed?: (seed: number) => number
  raftConfig?: Partial<RaftConfig>
  /** Disk sync latency range [min, max) ms per node (default [0, 3)). */
  syncLatencyMs?: [number, number]
  workload?: Partial<WorkloadOptions>
  broker?: Partial<BrokerWorkloadOptions>
  nemesis?: Partial<NemesisOptions>
  /** The script of a kv or broker scenario. */
  run?: (sim: Simulation) => Promise<void>
  /** The script of a node scenario (default: NodeSimulation.chaos). */
  runNode?: (sim: NodeSimulation) => Promise<void>
  nodeNemesis?: Partial<NodeNemesisOptions>
  /** Node workload: how long a node must be marked down before its replicas move (default: the production setting). */
  reReplicationDelayMs?: number
}

export interface SimulationOptions {
  seed: number
  nodes?: number
  faults?: RaftFaults
  /** Keep the trace lines (for --trace FILE); the hash is the same either way. */
  keepTrace?: boolean
  /** Make the forbidden globals throw while the run is in progress. */
  tripwires?: boolean
  /** Virtual milliseconds of random faults for scenarios that use the nemesis. */
  faultMs?: number
  /** Deliberate broker bugs (broker scenarios). */
  brokerFaults?: BrokerFaults
  /** Deliberate gateway bugs (node scenarios). */
  nodeFaults?: SimNodeFaults
}

export interface SimulationResult {
  scenario: string
  seed: number
  nodes: number
  ok: boolean
  violation: Violation | null
  traceHash: string
  traceLines: readonly string[]
  virtualMs: number
  events: number
  messages: number
  faultsInjected: number
  operations: { ok: number, fail: number, info: number }
  maxTerm: number
  committed: number
  /** Broker runs: what the producers' sends came to. */
  queue?: { sends: number, acked: number, failedDefinite: number, failedUnknown: number, stored: number }
}

export class Simulation {
  readonly seed: number
  readonly clock = new VirtualClock()
  readonly trace: Trace
  readonly oracles: Oracles
  readonly cluster: Cluster
  readonly workload: Workload
  /** The broker workload (broker scenarios), else null. */
  readonly broker: BrokerWorkload | null
  readonly nemesis: Nemesis
  readonly raftConfig: Partial<RaftConfig>
  /** Virtual ms of random faults requested by the caller (scenarios may ignore it). */
  readonly faultMs: number
  private readonly brokerOptions: BrokerWorkloadOptions | null
  private readonly scenarioRandom: SeededRandom
  /** Runs after every event: continuations, the oracles, the runaway bound. */
  readonly settler: EventSettler

  constructor (options: {
    seed: number, nodes: number, raftConfig: Partial<RaftConfig>, faults?: RaftFaults, keepTrace: boolean, faultMs: number,
    syncLatencyMs?: [number, number], workload?: WorkloadOptions, nemesis?: NemesisOptions,
    kind?: WorkloadKind, broker?: BrokerWorkloadOptions, brokerFaults?: BrokerFaults
  }) {
    this.seed = options.seed
    this.faultMs = options.faultMs
    this.raftConfig = options.raftConfig
    this.brokerOptions = options.kind === 'broker' ? options.broker ?? defaultBrokerWorkload : null
    const root = new SeededRandom(options.seed)
    const clusterRandom = root.fork()
    const workloadRandom = root.fork()
    const nemesisRandom = root.fork()
    this.scenarioRandom = root.fork()
    this.trace = new Trace({ keepLines: options.keepTrace })
    this.oracles = new Oracles(() => this.clock.now())
    this.settler = new EventSettler(this.clock, this.oracles, () => this.cluster.nodeErrors)
    const nodeIds: NodeId[] = []
    for (let i = 1; i <= options.nodes; i++) nodeIds.push(`n${i}`)
    const queueOracles = options.kind === 'broker' ? new QueueOracles((invariant, message) => this.oracles.report(invariant, message)) : null
    const host = queueOracles === null
      ? null
      : new BrokerHost({
        oracles: queueOracles,
        report: (invariant, message) => this.oracles.report(invariant, message),
        faults: options.brokerFaults,
        retentionCheckIntervalMs: (options.broker ?? defaultBrokerWorkload).retentionCheckIntervalMs,
        record: (line) => this.cluster.record(line),
        deadLetters: options.broker?.deadLetterPolicy !== undefined
      })
    this.cluster = new Cluster({
      clock: this.clock, random: clusterRandom, trace: this.trace, oracles: this.oracles, nodeIds,
      raftConfig: options.raftConfig, faults: options.faults, syncLatencyMs: options.syncLatencyMs, application: host?.application
    })
    this.workload = new Workload(this.cluster, workloadRandom, options.workload ?? defaultWorkload)
    this.nemesis = new Nemesis(this.cluster, nemesisRandom, options.nemesis ?? defaultNemesis)
    if (host === null || queueOracles === null) this.broker = null
    else {
      host.attach(this.cluster)
      // A fifth stream, forked after the others, so the KV runs' streams stay as they were.
      this.broker = new BrokerWorkload({ host, oracles: queueOracles, cluster: this.cluster, random: root.fork(), workload: options.broker ?? defaultBrokerWorkload })
    }
  }

  /** A PRNG stream for the scenario script's own choices. */
  get random (): SeededRandom {
    return this.scenarioRandom
  }

  /** A seeded Fisher-Yates shuffle from the scenario's stream. */
  shuffle<T> (items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.scenarioRandom.int(0, i + 1)
      ;[out[i], out[j]] = [out[j], out[i]]
    }
    return out
  }

  get electionTimeoutMs (): number {
    return this.raftConfig.electionTimeoutMs ?? 1_000
  }

  now (): number {
    return this.clock.now()
  }

  /** Processes every event up to now + ms. */
  async runFor (ms: number): Promise<void> {
    await this.runUntilTime(this.clock.now() + ms)
  }

  async runUntilTime (until: number): Promise<void> {
    await stepUntil(this.clock, until, this.settler.afterEvent)
  }

  /** Runs until `done()` holds (checked after every event) or `maxMs` pass; returns whether it held. */
  async runUntil (done: () => boolean, maxMs: number): Promise<boolean> {
    return await stepUntil(this.clock, this.clock.now() + maxMs, this.settler.afterEvent, done)
  }

  fail (invariant: InvariantName, message: string): never {
    this.oracles.report(invariant, message)
    throw new SimulationStopped()
  }

  /** Runs until a stable leader exists (fails liveness-leader after maxMs) and returns it. */
  async waitForLeader (maxMs = 10 * this.electionTimeoutMs): Promise<NodeId> {
    if (!await this.runUntil(() => this.stableLeader() !== null, maxMs)) {
      this.fail('liveness-leader', `no stable leader within ${maxMs}ms (max term ${this.cluster.maxTerm()})`)
    }
    return this.stableLeader() as NodeId
  }

  /**
   * Makes `id` the leader: every other node's Raft timers are frozen (so only `id` campaigns)
   * and the current leader, if another, is cut off until `id` wins (it holds the leader role in
   * the highest term); then timers thaw.
   */
  async elect (id: NodeId, maxMs = 20 * this.electionTimeoutMs): Promise<void> {
    const cluster = this.cluster
    const others = cluster.ids().filter((other) => other !== id)
    for (const other of others) cluster.freezeTimers(other)
    if (cluster.node(id).runtime.timersFrozen) cluster.thawTimers(id)
    const current = cluster.leader()
    if (current !== null && current !== id) cluster.partition('elect', [current])
    const won = await this.runUntil(() => this.cluster.leader() === id, maxMs)
    cluster.network.heal('elect')
    for (const other of others) cluster.thawTimers(other)
    if (!won) this.fail('liveness-leader', `${id} did not win an election within ${maxMs}ms`)
  }

  /**
   * Hands leadership to `id` by leader transfers from whoever leads (a transfer catches the
   * target up first, unlike `elect`); true once `id` is the stable leader within `maxMs`.
   */
  async transferTo (id: NodeId, maxMs = 20 * this.electionTimeoutMs): Promise<boolean> {
    let transferring = false
    return await this.runUntil(() => {
      const current = this.stableLeader()
      if (current === id) return true
      if (current !== null && !transferring) {
        transferring = true
        this.cluster.request(current, (raft) => raft.transferLeader(id)).catch(() => {}).finally(() => { transferring = false })
      }
      return false
    }, maxMs)
  }

  /**
   * One client write recorded in the history (client -2, the scenario script), sent to `via`
   * (default: the current leader); resolves with its outcome once it settles or after maxMs.
   */
  async write (key: string, value: string, via?: NodeId, maxMs = 10 * this.electionTimeoutMs): Promise<'ok' | 'fail' | 'info'> {
    const target = via ?? this.cluster.leader() ?? this.cluster.ids()[0]
    const history = this.workload.history
    const op = history.invoke(-2, 'write', key, value, this.now())
    let outcome: 'ok' | 'fail' | 'info' | null = null
    this.cluster.request(target, (raft) => raft.propose(encodeWrite({ key, value }), KV_WRITE_KIND)).then(() => {
      history.complete(op, outcome = 'ok', this.now())
    }, (error: unknown) => {
      const code = (error as { code?: string } | null)?.code
      history.complete(op, outcome = code === 'NOT_LEADER' || code === 'NODE_DOWN' ? 'fail' : 'info', this.now())
    })
    await this.runUntil(() => outcome !== null, maxMs)
    return outcome ?? 'info'
  }

  /** The leader that a majority of the live voters follow in its term, if any. */
  stableLeader (): NodeId | null {
    const leader = this.cluster.leader()
    if (leader === null) return null
    const leaderStatus = this.cluster.node(leader).raft?.status()
    if (leaderStatus === undefined) return null
    const voters = leaderStatus.config.voters
    let agree = 0
    for (const id of voters) {
      const node = this.cluster.nodes.get(id)
      const status = node?.runtime.state === 'up' ? node.raft?.status() : undefined
      if (status !== undefined && status.term === leaderStatus.term && (status.leader === leader || id === leader)) agree++
    }
    return agree > voters.length / 2 ? leader : null
  }

  /**
   * The recovery phase: every fault heals (except network cuts whose name starts with
   * `permanent`), crashed nodes restart, paused nodes resume, clients stop issuing. Then:
   * within 10 election timeouts a stable leader whose term then holds for 5 more, every
   * pending client operation completes within 10 more, and one write per key succeeds. The
   * broker workload replaces the last two with its drain and final queue checks (drainBroker).
   */
  async recover (): Promise<void> {
    await this.heal()
    if (this.broker !== null) {
      await this.drainBroker(this.broker)
      return
    }
    if (!await this.runUntil(() => this.workload.inFlight === 0, 10 * this.electionTimeoutMs)) {
      const stuck = this.workload.history.pendingOperations().map((op) => `op${op.id} ${op.kind} ${op.key} since t=${op.invokedTime}`)
      this.fail('liveness-pending-operations', `${this.workload.inFlight} client operations still pending ${15 * this.electionTimeoutMs}ms after healing: ${stuck.slice(0, 5).join('; ')}`)
    }
    await this.probeWrites()
  }

  /** Heals every fault, then waits for a stable leader whose term holds (the common part of recover()). */
  private async heal (): Promise<void> {
    const cluster = this.cluster
    this.nemesis.healAll()
    cluster.network.healAll((name) => name.startsWith('permanent'))
    cluster.network.profile = calmNetwork
    cluster.network.intercept = null
    for (const id of cluster.ids()) {
      const node = cluster.node(id)
      if (node.runtime.timersFrozen) cluster.thawTimers(id)
      if (node.runtime.state === 'paused') cluster.resume(id)
      if (node.runtime.state === 'crashed') cluster.restart(id)
    }
    this.workload.stop()
    cluster.record('recovery')
    const timeout = this.electionTimeoutMs
    const healedAt = this.now()
    // Within 10 election timeouts of healing there must be a stable leader after which the
    // term stays put for 5 more (a leader may still step down once for what happened before
    // the heal, e.g. check-quorum over a partitioned interval).
    const deadline = healedAt + 10 * timeout
    for (;;) {
      if (!await this.runUntil(() => this.stableLeader() !== null, Math.max(0, deadline - this.now()))) {
        this.fail('liveness-leader', `no stable leader within ${10 * timeout}ms of healing (max term ${cluster.maxTerm()})`)
      }
      const term = cluster.maxTerm()
      cluster.record(`stable-leader ${this.stableLeader()} t${term} after ${this.now() - healedAt}ms`)
      if (!await this.runUntil(() => cluster.maxTerm() !== term, 5 * timeout)) break
      if (this.now() > deadline) {
        this.fail('liveness-term-stable', `term still climbing ${this.now() - healedAt}ms after healing (${term} -> ${cluster.maxTerm()})`)
      }
    }
  }

  /**
   * Broker liveness after healing: within BROKER_DRAIN_TIMEOUTS election timeouts (plus the
   * producers' send timeout, for sends still retrying) every send settles and everything
   * stored is delivered to every subscription and covered by the leader's replicated cursors.
   */
  private async drainBroker (broker: BrokerWorkload): Promise<void> {
    broker.stop()
    const bound = BROKER_DRAIN_TIMEOUTS * this.electionTimeoutMs + (this.brokerOptions?.producer.sendTimeoutMs ?? 0)
    const drained = await this.runUntil(() => broker.drained(this.stableLeader()), bound)
    this.cluster.record(`broker drain ${drained ? 'done' : 'incomplete'} consumers ${broker.describeConsumers()}`)
    const problem = broker.finalCheck(this.stableLeader() ?? this.cluster.leader())
    if (problem !== null) this.fail(problem[0], problem[1])
    if (!drained) {
      const stats = broker.oracles.stats()
      this.fail('queue-liveness', `${bound}ms after healing not everything stored (${stats.stored} batches) is delivered and acknowledged by every subscription; ${broker.sendsInFlight} sends unsettled; consumers ${broker.describeConsumers()}`)
    }
  }

  /** After healing, one write per key through the leader must succeed. */
  private async probeWrites (): Promise<void> {
    const leader = this.stableLeader()
    if (leader === null) this.fail('liveness-leader', 'leader lost after the recovery phase')
    let done = 0
    let failure: string | null = null
    const keys = 3
    for (let k = 0; k < keys; k++) {
      const key = `k${k}`
      const op = this.workload.history.invoke(-1, 'write', key, `probe.${k}`, this.now())
      this.cluster.request(leader, (raft) => raft.propose(encodeWrite({ key, value: `probe.${k}` }), KV_WRITE_KIND)).then(() => {
        this.workload.history.complete(op, 'ok', this.now())
        done++
      }, (error: unknown) => {
        this.workload.history.complete(op, 'info', this.now())
        failure = `probe write to ${leader} failed: ${(error as { code?: string } | null)?.code ?? String(error)}`
      })
    }
    await this.runUntil(() => done === keys || failure !== null, 10 * this.electionTimeoutMs)
    if (done !== keys) this.fail('liveness-pending-operations', failure ?? `probe writes did not complete within ${10 * this.electionTimeoutMs}ms`)
  }

  /** Checks the recorded client history for linearizability (broker runs: the queue oracles ran already). */
  checkHistory (): void {
    if (this.broker !== null) return
    const result = checkLinearizable(this.workload.history.operations())
    if (!result.ok) this.fail('linearizability', `key ${result.key}: ${result.explanation}`)
    if (result.inconclusive !== undefined) this.cluster.record(`linearizability inconclusive for ${result.inconclusive.join(',')}`)
  }

  /** Starts the scenario's workload: the KV clients or the broker's producers and consumers. */
  startWorkload (): void {
    if (this.broker !== null) this.broker.start()
    else this.workload.start()
  }

  /** The standard run: workload + random faults for faultMs, then recovery and the history check. */
  async chaos (): Promise<void> {
    this.cluster.start()
    this.startWorkload()
    await this.runFor(1_000)
    this.nemesis.start()
    await this.runFor(this.faultMs)
    await this.recover()
    this.checkHistory()
  }
}

/** Runs `scenario` for one seed and returns the verdict. */
export async function runSimulation (scenario: Scenario, options: SimulationOptions): Promise<SimulationResult> {
  if (scenario.kind === 'node') {
    // Loaded on use: the production node's modules stay out of the kv and broker runs.
    const { runNodeSimulation } = await import('./node-simulation.ts')
    return await runNodeSimulation(scenario, options)
  }
  const script = scenario.run
  if (script === undefined) throw new Error(`scenario ${scenario.name} has no script`)
  const nodes = options.nodes ?? scenario.nodesForSeed?.(options.seed) ?? scenario.nodes ?? 5
  const sim = new Simulation({
    seed: options.seed,
    nodes,
    raftConfig: { ...simRaftConfig, ...scenario.raftConfig },
    faults: options.faults,
    keepTrace: options.keepTrace ?? false,
    faultMs: options.faultMs ?? 60_000,
    syncLatencyMs: scenario.syncLatencyMs,
    workload: { ...defaultWorkload, ...scenario.workload },
    nemesis: { ...defaultNemesis, ...scenario.nemesis },
    kind: scenario.kind,
    broker: { ...defaultBrokerWorkload, ...scenario.broker },
    brokerFaults: options.brokerFaults
  })
  sim.cluster.record(`seed ${options.seed} scenario ${scenario.name} nodes ${nodes}`)
  const restore = options.tripwires === true ? installTripwires() : null
  try {
    await runScenarioScript((invariant, message) => { sim.oracles.report(invariant, message) }, async () => { await script(sim) })
  } finally {
    restore?.()
  }
  const violation = sim.oracles.violation
  if (violation !== null) sim.cluster.record(`violation ${violation.invariant}: ${violation.message}`)
  const counts = { ok: 0, fail: 0, info: 0 }
  for (const op of sim.workload.history.operations()) counts[op.outcome ?? 'info']++
  if (sim.broker !== null) {
    const queue = sim.broker.oracles.stats()
    counts.ok = queue.acked
    counts.fail = queue.failedDefinite
    counts.info = queue.sends - queue.acked - queue.failedDefinite
  }
  return {
    scenario: scenario.name,
    seed: options.seed,
    nodes,
    ok: violation === null,
    violation,
    traceHash: sim.trace.hash(),
    traceLines: sim.trace.lines(),
    virtualMs: sim.now(),
    events: sim.settler.events,
    messages: sim.cluster.network.delivered,
    faultsInjected: sim.nemesis.injected,
    operations: counts,
    maxTerm: sim.cluster.maxTerm(),
    committed: sim.oracles.highestCommitted,
    ...(sim.broker === null ? {} : { queue: sim.broker.oracles.stats() })
  }
}
