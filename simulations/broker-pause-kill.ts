// Jepsen's NATS "pause-kill" schedule against the broker workload: pause a minority, kill one
// other node so it loses its unsynced writes (and restart it), then resume the minority and
// pause the rest. No acknowledged message may be lost (queue oracles), and after healing every
// stored message is delivered and acknowledged.
import type { Scenario } from '../packages/sim/src/index.ts'
import { pauseKillRounds } from './pause-kill.ts'

export const brokerPauseKill: Scenario = {
  name: 'broker-pause-kill',
  kind: 'broker',
  description: 'broker partition under pause a minority, kill another node (losing unsynced writes), resume the minority, pause the rest',
  nodes: 5,
  syncLatencyMs: [1, 10],
  run: async (sim) => {
    sim.cluster.start()
    sim.startWorkload()
    await sim.waitForLeader()
    await sim.runFor(1_000)
    await pauseKillRounds(sim, 3)
    await sim.recover()
  }
}
