// The role lifecycle of one Raft node as an xstate v5 machine: follower, pre-candidate,
// candidate, leader (plus corrupted and stopped). The core owns the role and decides every
// transition; the machine mirrors it (the shell sends it the core's role changes after each
// input) and owns the timers each role runs: the randomized election timeout, the heartbeat
// interval and the check-quorum interval. A timer that fires is an input to the core (its
// action calls the core, which decides what follows). Per-message work never goes through the
// machine (not even the election-timer reset on leader contact). Every delayed transition is an
// `after` with a named delay, so xstate gives it a deterministic id; the actor runs on the Env
// clock.
import { setup } from 'xstate'

export type RoleName = 'follower' | 'precandidate' | 'candidate' | 'leader'

/** What the machine needs from the node: the timers' delays, and the core inputs they fire. */
export interface RoleHooks {
  /** Time left until the election timeout (randomized by the core on every role change). */
  electionDelayMs (): number
  heartbeatIntervalMs (): number
  checkQuorumIntervalMs (): number
  corrupted (): boolean
  /** The election timer fired (follower, pre-candidate, candidate). */
  tickElection (): void
  tickHeartbeat (): void
  tickQuorum (): void
}

/** The shell's START/STOP, and the role changes the core made (each re-arms that role's timers). */
export type RoleEvent =
  | { type: 'START' }
  | { type: 'STOP' }
  | { type: 'BECAME_FOLLOWER' }
  | { type: 'BECAME_PRECANDIDATE' }
  | { type: 'BECAME_CANDIDATE' }
  | { type: 'BECAME_LEADER' }
  | { type: 'QUIESCED' }
  | { type: 'WOKE' }

export const roleMachine = setup({
  types: {
    context: {} as { hooks: RoleHooks },
    input: {} as { hooks: RoleHooks },
    events: {} as RoleEvent
  },
  delays: {
    electionTimeout: ({ context }) => context.hooks.electionDelayMs(),
    heartbeatInterval: ({ context }) => context.hooks.heartbeatIntervalMs(),
    checkQuorumInterval: ({ context }) => context.hooks.checkQuorumIntervalMs()
  },
  guards: {
    corrupted: ({ context }) => context.hooks.corrupted()
  },
  actions: {
    tickElection: ({ context }) => { context.hooks.tickElection() },
    tickHeartbeat: ({ context }) => { context.hooks.tickHeartbeat() },
    tickQuorum: ({ context }) => { context.hooks.tickQuorum() }
  }
}).createMachine({
  id: 'raft',
  context: ({ input }) => ({ hooks: input.hooks }),
  initial: 'idle',
  states: {
    idle: {
      on: { START: [{ guard: 'corrupted', target: 'corrupted' }, { target: 'follower' }] }
    },
    follower: {
      initial: 'waiting',
      states: {
        waiting: {
          after: {
            // Leader contact only moves the reset time in the core (no event per message): the
            // core ignores a timer that fires early, and re-entering re-arms for the time left.
            electionTimeout: { target: 'waiting', reenter: true, actions: 'tickElection' }
          }
        },
        // An idle group: the leader said so with a quiescing heartbeat; no election timer.
        quiesced: {}
      },
      on: {
        WOKE: { target: '.waiting', reenter: true },
        QUIESCED: { target: '.quiesced' }
      }
    },
    // The core always changes role when these time out (a new round, or back to follower).
    precandidate: {
      after: { electionTimeout: { actions: 'tickElection' } }
    },
    candidate: {
      after: { electionTimeout: { actions: 'tickElection' } }
    },
    leader: {
      type: 'parallel',
      states: {
        heartbeat: {
          initial: 'beating',
          states: {
            beating: {
              after: { heartbeatInterval: { target: 'beating', reenter: true, actions: 'tickHeartbeat' } },
              on: { QUIESCED: { target: 'quiesced' } }
            },
            quiesced: { on: { WOKE: { target: 'beating' } } }
          }
        },
        quorum: {
          initial: 'checking',
          states: {
            checking: {
              after: { checkQuorumInterval: { target: 'checking', reenter: true, actions: 'tickQuorum' } },
              on: { QUIESCED: { target: 'paused' } }
            },
            // Quiesced: no per-group timer at all. The host's node-level liveness stands in for
            // the check (peerDown of a follower wakes the group); WOKE starts a full interval.
            paused: { on: { WOKE: { target: 'checking' } } }
          }
        }
      }
    },
    // Storage found corrupted at start: no timers; the core never changes role.
    corrupted: {},
    stopped: { type: 'final' }
  },
  on: {
    BECAME_FOLLOWER: { target: '.follower', reenter: true },
    BECAME_PRECANDIDATE: { target: '.precandidate', reenter: true },
    BECAME_CANDIDATE: { target: '.candidate', reenter: true },
    BECAME_LEADER: { target: '.leader', reenter: true },
    STOP: { target: '.stopped' }
  }
})

/** The role a machine state value stands for (undefined before start, when corrupted and after stop). */
export function roleOf (value: unknown): RoleName | undefined {
  const top = typeof value === 'string' ? value : Object.keys(value as object)[0]
  return top === 'follower' || top === 'precandidate' || top === 'candidate' || top === 'leader' ? top : undefined
}

/** Whether a machine state value is a quiesced one (no election timer, or no leader timers). */
export function quiescedIn (value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const state = value as { follower?: unknown, leader?: { heartbeat?: unknown } }
  return state.follower === 'quiesced' || state.leader?.heartbeat === 'quiesced'
}
