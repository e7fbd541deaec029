// The simulated network between nodes: per-message delay (a minimum plus an exponential tail,
// so messages reorder), loss, duplication and replay of old messages, and a connectivity
// matrix of directed links that partitions cut. Cuts are named so overlapping faults heal
// independently. Delivery goes through the receiving node's runtime (held while paused,
// dropped when crashed).
import type { Random, VirtualClock } from '@blazar/env'

export interface LinkProfile {
  minDelayMs: number
  /** Mean of the exponential extra delay on top of minDelayMs. */
  meanExtraDelayMs: number
  dropRate: number
  duplicateRate: number
  /** Chance that a send also re-delivers a random message from the replay buffer. */
  replayRate: number
}

export const calmNetwork: LinkProfile = { minDelayMs: 1, meanExtraDelayMs: 4, dropRate: 0, duplicateRate: 0, replayRate: 0 }

/** Old messages kept for replay, at most. */
export const REPLAY_BUFFER_SIZE = 512
/** Longest delay any message may get: keeps a pathological profile from stalling a run. */
export const MAX_MESSAGE_DELAY_MS = 30_000

/** Scenario hook on every send: the message to deliver (the same, or a changed copy), or null to drop it. */
export type MessageInterceptor<M> = (from: string, to: string, message: M) => M | null

export interface NetworkEndpoint<M> {
  /** Hands a message to the node (its runtime decides whether it runs, waits or is lost). */
  receive (from: string, message: M): void
}

export class SimNetwork<M> {
  private readonly clock: VirtualClock
  private readonly random: Random
  private readonly endpoints = new Map<string, NetworkEndpoint<M>>()
  private readonly cuts = new Map<string, Set<string>>()
  private readonly replayBuffer: Array<{ from: string, to: string, message: M }> = []
  private replayNext = 0
  private readonly describe: (message: M) => string
  private readonly onEvent: (line: string) => void
  profile: LinkProfile = calmNetwork
  intercept: MessageInterceptor<M> | null = null
  sent = 0
  delivered = 0

  constructor (options: { clock: VirtualClock, random: Random, describe: (message: M) => string, onEvent: (line: string) => void }) {
    this.clock = options.clock
    this.random = options.random
    this.describe = options.describe
    this.onEvent = options.onEvent
  }

  attach (id: string, endpoint: NetworkEndpoint<M>): void {
    this.endpoints.set(id, endpoint)
  }

  /** Whether messages from `from` currently reach `to`. */
  connected (from: string, to: string): boolean {
    const link = `${from}>${to}`
    for (const cut of this.cuts.values()) if (cut.has(link)) return false
    return true
  }

  /** Cuts the listed directed links under `name` (replacing a cut of the same name). */
  cut (name: string, links: Iterable<[string, string]>): void {
    const set = new Set<string>()
    for (const [from, to] of links) set.add(`${from}>${to}`)
    this.cuts.set(name, set)
    this.onEvent(`cut ${name} ${[...set].sort().join(',')}`)
  }

  heal (name: string): void {
    if (this.cuts.delete(name)) this.onEvent(`heal ${name}`)
  }

  healAll (except: (name: string) => boolean = () => false): void {
    for (const name of [...this.cuts.keys()]) if (!except(name)) this.heal(name)
  }

  cutNames (): string[] {
    return [...this.cuts.keys()]
  }

  send (from: string, to: string, original: M): void {
    this.sent++
    if (!this.connected(from, to)) return
    const message = this.intercept === null ? original : this.intercept(from, to, original)
    if (message === null) return
    const profile = this.profile
    if (profile.dropRate > 0 && this.random.chance(profile.dropRate)) return
    this.schedule(from, to, message)
    if (profile.duplicateRate > 0 && this.random.chance(profile.duplicateRate)) this.schedule(from, to, message)
    this.remember(from, to, message)
    if (profile.replayRate > 0 && this.replayBuffer.length > 0 && this.random.chance(profile.replayRate)) {
      const old = this.replayBuffer[this.random.int(0, this.replayBuffer.length)]
      if (this.connected(old.from, old.to)) this.schedule(old.from, old.to, old.message)
    }
  }

  private remember (from: string, to: string, message: M): void {
    if (this.replayBuffer.length < REPLAY_BUFFER_SIZE) this.replayBuffer.push({ from, to, message })
    else {
      this.replayBuffer[this.replayNext] = { from, to, message }
      this.replayNext = (this.replayNext + 1) % REPLAY_BUFFER_SIZE
    }
  }

  private schedule (from: string, to: string, message: M): void {
    const profile = this.profile
    const extra = profile.meanExtraDelayMs > 0 ? -Math.log(1 - this.random.next()) * profile.meanExtraDelayMs : 0
    const delay = Math.min(MAX_MESSAGE_DELAY_MS, Math.floor(profile.minDelayMs + extra))
    this.clock.setTimer(delay, () => {
      const endpoint = this.endpoints.get(to)
      if (endpoint === undefined || !this.connected(from, to)) return
      this.delivered++
      this.onEvent(`${from}>${to} ${this.describe(message)}`)
      endpoint.receive(from, message)
    })
  }
}
