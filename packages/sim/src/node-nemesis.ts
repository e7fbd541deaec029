// The node workload's nemesis: random faults on the production nodes, drawn from its own PRNG
// stream, each healed after a random duration. Process and network faults as the Raft
// nemesis has them (isolate a node, a minority/majority split, crash + restart, pause +
// resume, lossy and clogged peer links), and the storage faults SimDisk makes possible: a
// crash that loses the unsynced writes (power loss) or tears the last one, a failed fsync
// (the node must stop; it restarts when the fault heals), a slow disk, a full disk, and a
// bit flipped at rest in a journal or segment file of one node while it is down (`corruption`,
// on one node per run; off in the default weights: see docs/broker-simulation.md).
import type { NodeId, Random } from '@blazar/env'
import type { CrashMode } from '@blazar/storage'
import { FaultSchedule, pickWeighted } from './fault-schedule.ts'
import { calmNetwork } from './network.ts'
import type { NodeWorld } from './node-world.ts'

export type NodeFaultKind =
  | 'isolate' | 'split' | 'crash' | 'power-loss' | 'torn-write' | 'pause' | 'lossy' | 'clog' | 'slow-disk' | 'fsync-failure' | 'full-disk'
  | 'corruption'

export interface NodeNemesisOptions {
  intervalMs: [number, number]
  durationMs: [number, number]
  weights: Partial<Record<NodeFaultKind, number>>
  maxActive: number
}

export const defaultNodeNemesis: NodeNemesisOptions = {
  intervalMs: [500, 3_000],
  durationMs: [500, 6_000],
  weights: {
    isolate: 2, split: 2, crash: 2, 'power-loss': 2, 'torn-write': 2, pause: 2, lossy: 2, clog: 1, 'slow-disk': 1, 'fsync-failure': 1, 'full-disk': 1
  },
  maxActive: 2
}

/** Latency of a slow disk's every operation, ms. */
export const SLOW_DISK_LATENCY_MS: [number, number] = [5, 60]

export class NodeNemesis extends FaultSchedule {
  private readonly world: NodeWorld
  private readonly options: NodeNemesisOptions
  /** Nodes with a fault on them (one at a time per node). */
  private readonly busy = new Set<NodeId>()
  /** The one node whose files the `corruption` fault damages. */
  private rotting: NodeId | null = null

  constructor (world: NodeWorld, random: Random, options: NodeNemesisOptions = defaultNodeNemesis) {
    super(world.clock, random, options)
    this.world = world
    this.options = options
  }

  protected inject (): (() => void) | null {
    const kind = pickWeighted(this.options.weights, this.random)
    if (kind === null) return null
    const free = this.world.ids().filter((id) => !this.busy.has(id))
    if (free.length === 0) return null
    const node = free[this.random.int(0, free.length)]
    const heal = this.apply(kind, node)
    if (heal !== null) this.busy.add(node)
    return heal
  }

  /** Starts fault `kind` on `node`; answers how to heal it. */
  private apply (kind: NodeFaultKind, node: NodeId): (() => void) | null {
    const world = this.world
    const done = (heal: () => void) => () => {
      heal()
      this.busy.delete(node)
    }
    const crash = (mode: CrashMode) => {
      world.crash(node, mode)
      return done(() => { world.restart(node) })
    }
    const name = `nemesis-${this.nextId}`
    switch (kind) {
      case 'isolate':
        world.partition(name, [node])
        return done(() => { world.network.heal(name) })
      case 'split': {
        const ids = world.ids()
        const minority = ids.filter((id) => id === node || this.random.chance(0.3)).slice(0, Math.floor((ids.length - 1) / 2))
        world.partition(name, minority.length === 0 ? [node] : minority)
        return done(() => { world.network.heal(name) })
      }
      case 'crash': return crash('process')
      case 'power-loss': return crash('power')
      case 'torn-write': return crash('torn')
      case 'pause':
        world.pause(node)
        return done(() => { world.resume(node) })
      case 'lossy':
        world.network.profile = { ...calmNetwork, dropRate: 0.1, duplicateRate: 0.05, replayRate: 0.02 }
        return done(() => { world.network.profile = calmNetwork })
      case 'clog':
        world.network.profile = { ...calmNetwork, meanExtraDelayMs: 200 }
        return done(() => { world.network.profile = calmNetwork })
      case 'slow-disk': {
        const process = world.process(node)
        process.disk.latencyMs = this.random.int(SLOW_DISK_LATENCY_MS[0], SLOW_DISK_LATENCY_MS[1])
        return done(() => { world.process(node).disk.latencyMs = 0 })
      }
      case 'fsync-failure':
        world.process(node).disk.failNextSyncs(1)
        // The node stops on it (a crash); healing restarts it (and clears an unused injection).
        return done(() => {
          if (world.process(node).runtime.state === 'crashed') world.restart(node)
        })
      case 'corruption': {
        // Only one node of a run rots (a damaged majority cannot be repaired from peers).
        this.rotting ??= node
        if (node !== this.rotting) return null
        world.crash(node, 'process')
        const disk = world.process(node).disk
        const files = disk.paths().filter((path) => path.endsWith('.jnl') || path.endsWith('.log'))
        const sizes = files.map((path) => disk.peek(path)?.length ?? 0)
        const candidates = files.filter((_, i) => sizes[i] > 0)
        if (candidates.length > 0) {
          const path = candidates[this.random.int(0, candidates.length)]
          const offset = this.random.int(0, disk.peek(path)?.length ?? 1)
          const bit = this.random.int(0, 8)
          world.record(`corrupt ${node} ${path}@${offset}.${bit}`)
          disk.flipBit(path, offset, bit)
        }
        return done(() => { world.restart(node) })
      }
      case 'full-disk':
        world.process(node).disk.full = true
        return done(() => {
          world.process(node).disk.full = false
          if (world.process(node).runtime.state === 'crashed') world.restart(node)
        })
    }
  }
}
