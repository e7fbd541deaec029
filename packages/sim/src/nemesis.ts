// The nemesis: random faults drawn from its own PRNG stream at random intervals, each healed
// after a random duration: partitions (isolate the leader, majority/minority split, bridge,
// majorities ring, one-way), crash + restart losing unsynced writes, pause + resume, lossy
// links (drop, duplicate, replay) and clogged links (long delays, heavy reordering), leader
// transfers, and a crash armed to strike right after a node's next vote grant (before that vote
// is synced). healAll() ends every fault at once (the start of the recovery phase).
import type { NodeId, Random } from '@blazar/env'
import type { Cluster } from './cluster.ts'
import { FaultSchedule, pickWeighted } from './fault-schedule.ts'
import { calmNetwork, type LinkProfile } from './network.ts'

export type FaultKind =
  | 'isolate-leader' | 'split' | 'bridge' | 'ring' | 'one-way' | 'crash' | 'crash-after-vote' | 'pause' | 'lossy' | 'clog'
  | 'transfer-leader'

export interface NemesisOptions {
  /** Time between two fault injections, uniform in [min, max) ms. */
  intervalMs: [number, number]
  /** How long a fault lasts, uniform in [min, max) ms. */
  durationMs: [number, number]
  /** Relative weight of each fault kind (absent = 0). */
  weights: Partial<Record<FaultKind, number>>
  /** Faults active at once, at most. */
  maxActive: number
}

export const defaultNemesis: NemesisOptions = {
  intervalMs: [500, 3_000],
  durationMs: [500, 8_000],
  weights: {
    'isolate-leader': 2, split: 2, bridge: 1, ring: 1, 'one-way': 2, crash: 3, 'crash-after-vote': 2, pause: 2, lossy: 2, clog: 1,
    'transfer-leader': 1
  },
  maxActive: 3
}

export class Nemesis extends FaultSchedule {
  private readonly cluster: Cluster
  private readonly options: NemesisOptions

  constructor (cluster: Cluster, random: Random, options: NemesisOptions = defaultNemesis) {
    super(cluster.clock, random, options)
    this.cluster = cluster
    this.options = options
  }

  protected inject (): (() => void) | null {
    const kind = pickWeighted(this.options.weights, this.random)
    return kind === null ? null : this.apply(kind)
  }

  private apply (kind: FaultKind): (() => void) | null {
    const cluster = this.cluster
    const ids = cluster.ids()
    const name = `nemesis-${this.nextId}`
    const anyNode = (): NodeId => ids[this.random.int(0, ids.length)]
    switch (kind) {
      case 'isolate-leader': {
        const target = cluster.leader() ?? anyNode()
        cluster.partition(name, [target])
        return () => cluster.network.heal(name)
      }
      case 'split': {
        const shuffled = this.shuffle(ids)
        cluster.partition(name, shuffled.slice(0, this.random.int(1, Math.ceil(ids.length / 2))))
        return () => cluster.network.heal(name)
      }
      case 'bridge': {
        // Two halves that only the bridge node connects (Jepsen's :bridge).
        const [bridge, ...rest] = this.shuffle(ids)
        const half = rest.length >> 1
        const a = rest.slice(0, half)
        const b = rest.slice(half)
        const links: Array<[NodeId, NodeId]> = []
        for (const x of a) for (const y of b) links.push([x, y], [y, x])
        cluster.network.cut(`${name}-bridge-${bridge}`, links)
        return () => cluster.network.heal(`${name}-bridge-${bridge}`)
      }
      case 'ring': {
        // Each node reaches only its two ring neighbours (Jepsen's :majorities-ring).
        const ring = this.shuffle(ids)
        const n = ring.length
        const links: Array<[NodeId, NodeId]> = []
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            const distance = Math.min((i - j + n) % n, (j - i + n) % n)
            if (distance > 1) links.push([ring[i], ring[j]])
          }
        }
        cluster.network.cut(name, links)
        return () => cluster.network.heal(name)
      }
      case 'one-way': {
        const target = this.random.chance(0.5) ? (cluster.leader() ?? anyNode()) : anyNode()
        const inbound = this.random.chance(0.5)
        cluster.network.cut(name, ids.filter((id) => id !== target).map((id) => inbound ? [id, target] : [target, id]))
        return () => cluster.network.heal(name)
      }
      case 'crash': {
        const up = ids.filter((id) => cluster.node(id).runtime.state === 'up')
        if (up.length === 0) return null
        const target = up[this.random.int(0, up.length)]
        cluster.crash(target)
        return () => cluster.restart(target)
      }
      case 'crash-after-vote': {
        // The vote is written (not yet synced) inside the node's step; the crash follows in
        // the same virtual millisecond, so an unsynced vote is lost unless already durable.
        const up = ids.filter((id) => cluster.node(id).runtime.state === 'up')
        if (up.length === 0) return null
        const target = up[this.random.int(0, up.length)]
        const node = cluster.node(target)
        const restartAfter = this.random.int(1, 30)
        node.onBoundary = (boundary, hardState) => {
          if (boundary !== 'hardState' || hardState?.vote === null || hardState?.vote === undefined || hardState.vote === target) return
          node.onBoundary = null
          cluster.record(`crash-after-vote ${target} voted ${hardState.vote} t${hardState.term}`)
          // Back quickly, while the election of that term may still be asking for votes.
          cluster.clock.setTimer(0, () => {
            cluster.crash(target)
            cluster.clock.setTimer(restartAfter, () => cluster.restart(target))
          })
        }
        return () => { node.onBoundary = null }
      }
      case 'pause': {
        const target = this.random.chance(0.5) ? (cluster.leader() ?? anyNode()) : anyNode()
        if (cluster.node(target).runtime.state !== 'up') return null
        cluster.pause(target)
        return () => cluster.resume(target)
      }
      case 'lossy':
      case 'clog': {
        if (cluster.network.profile !== calmNetwork) return null
        const profile: LinkProfile = kind === 'lossy'
          ? { minDelayMs: 1, meanExtraDelayMs: 10, dropRate: 0.05 + this.random.next() * 0.25, duplicateRate: this.random.next() * 0.2, replayRate: this.random.next() * 0.05 }
          : { minDelayMs: 1, meanExtraDelayMs: 50 + this.random.int(0, 400), dropRate: 0, duplicateRate: 0.05, replayRate: 0.01 }
        cluster.network.profile = profile
        cluster.record(`network ${kind} drop=${profile.dropRate.toFixed(3)} dup=${profile.duplicateRate.toFixed(3)} delay=${profile.meanExtraDelayMs}`)
        return () => {
          cluster.network.profile = calmNetwork
          cluster.record('network calm')
        }
      }
      case 'transfer-leader': {
        const leader = cluster.leader()
        if (leader === null) return null
        const others = ids.filter((id) => id !== leader)
        const to = others[this.random.int(0, others.length)]
        cluster.record(`transfer ${leader} -> ${to}`)
        cluster.request(leader, (raft) => raft.transferLeader(to)).then(
          () => cluster.record(`transfer ${leader} -> ${to} done`),
          (error: unknown) => cluster.record(`transfer ${leader} -> ${to} failed ${(error as { code?: string } | null)?.code ?? ''}`)
        )
        return () => {}
      }
    }
  }

  private shuffle<T> (items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.random.int(0, i + 1)
      ;[out[i], out[j]] = [out[j], out[i]]
    }
    return out
  }
}
