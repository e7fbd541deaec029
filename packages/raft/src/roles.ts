// The role lifecycle of one Raft node as an xstate v5 machine: follower, pre-candidate,
// candidate, leader (plus corrupted and stopped). The machine owns the timers (randomized
// election timeout, heartbeat interval, check-quorum interval) and the transitions they cause;
// the core decides message-driven transitions and tells the machine with events. Per-message
// work never goes through the machine (not even the election-timer reset on leader contact). Every delayed transition is an `after` with a named
// delay, so xstate gives it a deterministic id; the actor runs on the Env clock.
import { setup } from 'xstate'

export type RoleName = 'follower' | 'precandidate' | 'candidate' | 'leader'

/** What the machine asks of the node. Implemented by RaftNode over the core. */
export interface RoleHooks {
  /** Time left until the election timeout (randomized by the core on every role change). */
  electionDelayMs (): number
  /** The election timeout has elapsed since the last reset (leader contact, vote, role change). */
  electionDue (): boolean
  heartbeatIntervalMs (): number
  checkQuorumIntervalMs (): number
  corrupted (): boolean
  canCampaign (): boolean
  preVote (): boolean
  preCampaign (): void
  campaign (): void
  forceCampaign (): void
  lead (): void
  follow (): void
  restartElectionTimer (): void
  heartbeat (): void
  checkQuorum (): void
}

export type RoleEvent =
  | { type: 'START' }
  | { type: 'STOP' }
  | { type: 'FOLLOW' }
  | { type: 'CAMPAIGN' }
  | { type: 'PRE_VOTE_WON' }
  | { type: 'ELECTED' }
  | { type: 'TIMEOUT_NOW' }
  | { type: 'QUIESCE' }
  | { type: 'WAKE' }

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
    corrupted: ({ context }) => context.hooks.corrupted(),
    electionNotDue: ({ context }) => !context.hooks.electionDue(),
    canCampaign: ({ context }) => context.hooks.canCampaign(),
    canPreCampaign: ({ context }) => context.hooks.canCampaign() && context.hooks.preVote()
  },
  actions: {
    preCampaign: ({ context }) => { context.hooks.preCampaign() },
    campaign: ({ context }) => { context.hooks.campaign() },
    forceCampaign: ({ context }) => { context.hooks.forceCampaign() },
    lead: ({ context }) => { context.hooks.lead() },
    follow: ({ context }) => { context.hooks.follow() },
    restartElectionTimer: ({ context }) => { context.hooks.restartElectionTimer() },
    heartbeat: ({ context }) => { context.hooks.heartbeat() },
    checkQuorum: ({ context }) => { context.hooks.checkQuorum() }
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
            // Leader contact only moves the reset time in the core (no event per message); a
            // timer that fires early re-arms for the time left.
            electionTimeout: [
              { guard: 'electionNotDue', target: 'waiting', reenter: true },
              { guard: 'canPreCampaign', target: '#raft.precandidate', actions: 'preCampaign' },
              { guard: 'canCampaign', target: '#raft.candidate', actions: 'campaign' },
              { target: 'waiting', reenter: true, actions: 'restartElectionTimer' }
            ]
          }
        },
        // An idle group: the leader said so with a quiescing heartbeat; no election timer.
        quiesced: {}
      },
      on: {
        WAKE: { target: '.waiting', reenter: true },
        QUIESCE: { target: '.quiesced' },
        CAMPAIGN: [
          { guard: 'canPreCampaign', target: 'precandidate', actions: 'preCampaign' },
          { guard: 'canCampaign', target: 'candidate', actions: 'campaign' }
        ],
        TIMEOUT_NOW: { guard: 'canCampaign', target: 'candidate', actions: 'forceCampaign' }
      }
    },
    precandidate: {
      after: {
        electionTimeout: [
          { guard: 'canPreCampaign', target: 'precandidate', reenter: true, actions: 'preCampaign' },
          { target: 'follower', actions: 'follow' }
        ]
      },
      on: {
        PRE_VOTE_WON: { target: 'candidate', actions: 'campaign' },
        CAMPAIGN: { guard: 'canPreCampaign', target: 'precandidate', reenter: true, actions: 'preCampaign' }
      }
    },
    candidate: {
      after: {
        electionTimeout: [
          { guard: 'canPreCampaign', target: 'precandidate', actions: 'preCampaign' },
          { guard: 'canCampaign', target: 'candidate', reenter: true, actions: 'campaign' },
          { target: 'follower', actions: 'follow' }
        ]
      },
      on: {
        ELECTED: { target: 'leader', actions: 'lead' },
        CAMPAIGN: [
          { guard: 'canPreCampaign', target: 'precandidate', actions: 'preCampaign' },
          { guard: 'canCampaign', target: 'candidate', reenter: true, actions: 'campaign' }
        ]
      }
    },
    leader: {
      type: 'parallel',
      states: {
        heartbeat: {
          initial: 'beating',
          states: {
            beating: {
              after: { heartbeatInterval: { target: 'beating', reenter: true, actions: 'heartbeat' } },
              on: { QUIESCE: { target: 'quiesced' } }
            },
            quiesced: { on: { WAKE: { target: 'beating' } } }
          }
        },
        quorum: {
          initial: 'checking',
          states: {
            checking: {
              after: { checkQuorumInterval: { target: 'checking', reenter: true, actions: 'checkQuorum' } },
              on: { QUIESCE: { target: 'paused' } }
            },
            // Quiesced: no per-group timer at all. The host's node-level liveness stands in for
            // the check (peerDown of a follower wakes the group); WAKE starts a full interval.
            paused: { on: { WAKE: { target: 'checking' } } }
          }
        }
      }
    },
    corrupted: { on: { FOLLOW: {} } },
    stopped: { type: 'final' }
  },
  on: {
    FOLLOW: { target: '.follower', reenter: true },
    STOP: { target: '.stopped' }
  }
})

/** The role a machine state value stands for (undefined before start and after stop). */
export function roleOf (value: unknown): RoleName | undefined {
  const top = typeof value === 'string' ? value : Object.keys(value as object)[0]
  return top === 'follower' || top === 'precandidate' || top === 'candidate' || top === 'leader' ? top : undefined
}
