// One simulated process: its lifecycle (up, paused, crashed) and the clocks it sees. Every
// timer a node sets and every message or client call that reaches it goes through here, so
// a pause holds them (then releases them in order at resume, like SIGSTOP/SIGCONT), a crash
// cancels them and bumps the incarnation so callbacks of the dead process never run, and
// "frozen timers" hold only the Raft timers (scenarios use it to pick who campaigns).
import type { Clock, TimerHandle, VirtualClock } from '@blazar/env'

export type ProcessState = 'up' | 'paused' | 'crashed'

/** Deferred work of a paused process, at most: a pause longer than this is a runaway scenario. */
export const MAX_HELD_EVENTS = 100_000

export class HeldEventsOverflowError extends Error {
  static readonly code = 'HELD_EVENTS_OVERFLOW'
  readonly code = HeldEventsOverflowError.code
  constructor (node: string) {
    super(`node ${node} holds more than ${MAX_HELD_EVENTS} deferred events`)
    this.name = 'HeldEventsOverflowError'
  }
}

type Domain = 'process' | 'disk'

interface HeldWork {
  domain: Domain | 'inbox'
  run: () => void
  /** A release event is queued for it. */
  scheduled: boolean
}

export class NodeRuntime {
  readonly id: string
  private readonly clock: VirtualClock
  private stateValue: ProcessState = 'up'
  private frozen = false
  private incarnationValue = 0
  private readonly live = new Map<TimerHandle, Domain>()
  /** Work held while paused (or, for process timers, while frozen), in arrival order. */
  private readonly held = new Map<number, HeldWork>()
  private nextHeldId = -1
  /** What Raft timers run on. */
  readonly processClock: Clock
  /** What the node's storage (sync latency) runs on: held by a pause, not by a freeze. */
  readonly diskClock: Clock

  constructor (id: string, clock: VirtualClock) {
    this.id = id
    this.clock = clock
    this.processClock = this.domainClock('process')
    this.diskClock = this.domainClock('disk')
  }

  get state (): ProcessState {
    return this.stateValue
  }

  get incarnation (): number {
    return this.incarnationValue
  }

  get timersFrozen (): boolean {
    return this.frozen
  }

  /** Runs `work` now if the process is up, holds it if paused, drops it if crashed. */
  deliver (work: () => void): void {
    if (this.stateValue === 'crashed') return
    if (this.stateValue === 'paused') {
      this.hold('inbox', work)
      return
    }
    work()
  }

  pause (): void {
    if (this.stateValue === 'up') this.stateValue = 'paused'
  }

  resume (): void {
    if (this.stateValue !== 'paused') return
    this.stateValue = 'up'
    this.release((domain) => domain !== 'process' || !this.frozen)
  }

  freezeTimers (): void {
    this.frozen = true
  }

  thawTimers (): void {
    this.frozen = false
    if (this.stateValue === 'up') this.release((domain) => domain === 'process')
  }

  /** Kills the process: cancels its timers and held work; later callbacks of it never run. */
  crash (): void {
    this.stateValue = 'crashed'
    this.incarnationValue++
    for (const handle of this.live.keys()) this.clock.clearTimer(handle)
    this.live.clear()
    this.held.clear()
    this.frozen = false
  }

  /** A new incarnation starts (the caller builds a fresh Raft node on the surviving storage). */
  restart (): void {
    if (this.stateValue !== 'crashed') throw new Error(`restart of ${this.id} while ${this.stateValue}`)
    this.stateValue = 'up'
  }

  private domainClock (domain: Domain): Clock {
    return {
      now: () => this.clock.now(),
      setTimer: (delayMs, fire) => {
        const incarnation = this.incarnationValue
        const handle: TimerHandle = this.clock.setTimer(delayMs, () => {
          this.live.delete(handle)
          if (incarnation !== this.incarnationValue) return
          if (this.stateValue === 'paused' || (domain === 'process' && this.frozen)) {
            this.held.set(handle, { domain, run: fire, scheduled: false })
            this.checkHeldBound()
            return
          }
          fire()
        })
        this.live.set(handle, domain)
        return handle
      },
      clearTimer: (handle) => {
        this.clock.clearTimer(handle)
        this.live.delete(handle)
        this.held.delete(handle)
      }
    }
  }

  private hold (domain: 'inbox', work: () => void): void {
    this.held.set(this.nextHeldId--, { domain, run: work, scheduled: false })
    this.checkHeldBound()
  }

  private checkHeldBound (): void {
    if (this.held.size > MAX_HELD_EVENTS) throw new HeldEventsOverflowError(this.id)
  }

  /**
   * Reschedules held work as separate events at the current time, in arrival order. An item
   * stays registered until it runs, so clearTimer or a crash in between still cancels it.
   */
  private release (which: (domain: Domain | 'inbox') => boolean): void {
    for (const [key, item] of [...this.held]) {
      if (item.scheduled || !which(item.domain)) continue
      item.scheduled = true
      this.clock.setTimer(0, () => {
        if (this.held.get(key) !== item) return
        item.scheduled = false
        if (this.stateValue === 'paused' || (item.domain === 'process' && this.frozen)) return
        this.held.delete(key)
        if (item.domain === 'inbox') this.deliver(item.run)
        else item.run()
      })
    }
  }
}
