// The production nodes under long pauses only (SIGSTOP longer than a client's subscribe
// timeout): requests a client sent to a paused node are held and, when it resumes, served
// together with the close-consumer the client sent after giving up on them. A subscribe the
// client cancelled must never stay attached (the deliberate bug attachCancelledSubscribe
// leaves one holding the Exclusive subscription).
import type { Scenario } from '../packages/sim/src/index.ts'

export const nodePauses: Scenario = {
  name: 'node-pauses',
  kind: 'node',
  description: 'production nodes paused for longer than a subscribe timeout, clients via any node: cancelled subscribes never stay attached',
  nodesForSeed: (seed) => seed % 2 === 0 ? 5 : 3,
  nodeNemesis: { weights: { pause: 1 }, durationMs: [3_500, 8_000], intervalMs: [300, 1_500], maxActive: 2 }
}
