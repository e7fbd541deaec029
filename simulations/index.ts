// The named scenarios run by `blazar sim run --scenario NAME` and `blazar sim sweep`. Each is a
// workload, a fault schedule and the invariants to check (the simulator's oracles run on every
// event; a scenario adds its own expectations with sim.fail). Add one: write a Scenario in a
// file here and list it below. A scenario's `kind` names its workload: the KV registers
// (default), one broker partition (`blazar sim ... --workload broker`) or the production nodes
// (`--workload node`).
import type { Scenario } from '../packages/sim/src/index.ts'
import { brokerDeadLetter } from './broker-dead-letter.ts'
import { brokerDelayed } from './broker-delayed.ts'
import { brokerPauseKill } from './broker-pause-kill.ts'
import { brokerRandom } from './broker-random.ts'
import { brokerSeek } from './broker-seek.ts'
import { brokerSnapshotCatchup } from './broker-snapshot-catchup.ts'
import { brokerSnapshotRestart } from './broker-snapshot-restart.ts'
import { crashBoundaries } from './crash-boundaries.ts'
import { disruptiveRejoin } from './disruptive-rejoin.ts'
import { figure7 } from './figure7.ts'
import { figure8 } from './figure8.ts'
import { membership } from './membership.ts'
import { nodeCleanup } from './node-cleanup.ts'
import { nodeCorruption } from './node-corruption.ts'
import { nodePauses } from './node-pauses.ts'
import { nodeMoves } from './node-moves.ts'
import { nodeRandom } from './node-random.ts'
import { messageChaos } from './message-chaos.ts'
import { partialPartitions } from './partial-partitions.ts'
import { pauseKill } from './pause-kill.ts'
import { pauseOldLeader } from './pause-old-leader.ts'
import { random } from './random.ts'
import { snapshots } from './snapshots.ts'
import { voteCrash } from './vote-crash.ts'

export const scenarios: Scenario[] = [
  random, figure7, figure8, voteCrash, crashBoundaries, messageChaos, pauseOldLeader, partialPartitions,
  membership, snapshots, disruptiveRejoin, pauseKill,
  // The broker workload (`kind: 'broker'`: `blazar sim ... --workload broker`).
  brokerRandom, brokerPauseKill, brokerSnapshotRestart, brokerSnapshotCatchup, brokerDelayed, brokerDeadLetter, brokerSeek,
  // The production nodes (`kind: 'node'`: `blazar sim ... --workload node`).
  nodeRandom, nodePauses, nodeCorruption, nodeMoves, nodeCleanup
]
