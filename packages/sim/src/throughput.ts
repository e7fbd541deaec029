// Raft throughput in the simulator (the `blazar bench raft` figures): a 3-node group with no
// disk latency and no network delay, a leader kept busy with `window` proposals in flight,
// counting proposals committed (and applied on the leader) per wall-clock second. Batching on
// means AppendEntries carry as many entries as fit in maxAppendBytes; off means one entry per
// AppendEntries (maxAppendBytes = 1).
import { performance } from 'node:perf_hooks'
import { KV_WRITE_KIND, encodeWrite } from './kv-register.ts'
import { Simulation, simRaftConfig } from './simulation.ts'

export interface ThroughputOptions {
  proposals: number
  /** Proposals in flight at once. */
  window: number
  batching: boolean
  seed?: number
}

export interface ThroughputResult {
  committed: number
  wallMs: number
  perSecond: number
  virtualMs: number
  messages: number
}

export async function measureRaftThroughput (options: ThroughputOptions): Promise<ThroughputResult> {
  const sim = new Simulation({
    seed: options.seed ?? 1,
    nodes: 3,
    raftConfig: { ...simRaftConfig, maxAppendBytes: options.batching ? 1024 * 1024 : 1, maxPendingProposals: Math.max(10_000, options.window * 2) },
    keepTrace: false,
    faultMs: 0,
    syncLatencyMs: [0, 1]
  })
  sim.cluster.network.profile = { minDelayMs: 0, meanExtraDelayMs: 0, dropRate: 0, duplicateRate: 0, replayRate: 0 }
  sim.cluster.start()
  const leader = await sim.waitForLeader()
  const raft = sim.cluster.node(leader).raft
  if (raft === null) throw new Error('leader has no raft node')
  let issued = 0
  let committed = 0
  let failed = 0
  const issue = (): void => {
    const n = issued++
    raft.propose(encodeWrite({ key: `k${n % 16}`, value: `${n}` }), KV_WRITE_KIND).then(() => {
      committed++
      if (issued < options.proposals) issue()
    }, () => {
      failed++
    })
  }
  const started = performance.now()
  const virtualStart = sim.now()
  for (let i = 0; i < Math.min(options.window, options.proposals); i++) issue()
  await sim.runUntil(() => committed + failed >= options.proposals, 3_600_000)
  const wallMs = performance.now() - started
  if (failed > 0) throw new Error(`${failed} proposals failed during the throughput run`)
  return { committed, wallMs, perSecond: committed / (wallMs / 1000), virtualMs: sim.now() - virtualStart, messages: sim.cluster.network.delivered }
}
