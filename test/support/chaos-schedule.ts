// The chaos test's fault schedule: a pure function of a seed, so a failing run is replayed by
// its seed (BLAZAR_CHAOS_SEED). Faults come one at a time with a gap between them, each on one
// node: kill -9 then restart, SIGSTOP then SIGCONT, or a network isolation (when the machine
// allows namespaces).
import { SeededRandom } from '../../packages/env/src/index.ts'

export type FaultKind = 'kill9' | 'pause' | 'isolate'

export interface Fault {
  /** When the fault starts, from the start of the fault phase. */
  atMs: number
  kind: FaultKind
  /** Node index (0-based). */
  node: number
  /** How long the node stays down, paused or isolated. */
  durationMs: number
}

/** Each kind's duration range [min, max) in ms. */
export const FAULT_DURATION_MS: Record<FaultKind, readonly [number, number]> = {
  kill9: [1_000, 5_000],
  pause: [1_000, 6_000],
  isolate: [2_000, 8_000]
}
/** Quiet time before the first fault (traffic starts) and between two faults. */
const FIRST_FAULT_MS: readonly [number, number] = [1_500, 3_500]
const GAP_MS: readonly [number, number] = [1_000, 3_500]
/** xoroshiro128+ seeded with a small integer starts with nearly the same draws for every seed: skip them. */
const WARM_UP_DRAWS = 16

export function faultSchedule (seed: number, options: { phaseMs: number, nodes: number, kinds: readonly FaultKind[] }): Fault[] {
  if (options.kinds.length === 0) throw new RangeError('no fault kinds')
  const random = new SeededRandom(seed)
  for (let i = 0; i < WARM_UP_DRAWS; i++) random.next()
  const faults: Fault[] = []
  let atMs = random.int(...FIRST_FAULT_MS)
  while (atMs < options.phaseMs) {
    const kind = options.kinds[random.int(0, options.kinds.length)] as FaultKind
    const durationMs = random.int(...FAULT_DURATION_MS[kind])
    faults.push({ atMs, kind, node: random.int(0, options.nodes), durationMs })
    atMs += durationMs + random.int(...GAP_MS)
  }
  return faults
}

const VERB: Record<FaultKind, string> = { kill9: 'kill -9, restart after', pause: 'SIGSTOP, SIGCONT after', isolate: 'isolate network for' }

export function describeFault (fault: Fault): string {
  return `+${(fault.atMs / 1000).toFixed(1)}s node${fault.node + 1} ${VERB[fault.kind]} ${(fault.durationMs / 1000).toFixed(1)}s`
}
