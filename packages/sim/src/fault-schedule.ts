// When faults start and end, for every nemesis: every [intervalMs] a new fault is tried (while
// fewer than maxActive are active), each one healed after a random duration in durationMs, all
// of them at once by healAll(). Each nemesis extends it with what a fault is and how it heals
// (`inject`); a weighted pick of its kind is shared too. Draws come from the nemesis's stream.
import type { Random, VirtualClock } from '@blazar/env'

export interface FaultTiming {
  intervalMs: [number, number]
  durationMs: [number, number]
  maxActive: number
}

export abstract class FaultSchedule {
  protected readonly random: Random
  private readonly clock: VirtualClock
  private readonly timing: FaultTiming
  private readonly active = new Map<number, { heal: () => void, timer: number }>()
  private timer: number | null = null
  private running = false
  /** The id the next fault gets (nemeses name network cuts after it). */
  protected nextId = 1
  /** Faults started so far. */
  injected = 0

  constructor (clock: VirtualClock, random: Random, timing: FaultTiming) {
    this.clock = clock
    this.random = random
    this.timing = timing
  }

  /** Starts one fault, answering how to heal it, or null when none could start now. */
  protected abstract inject (): (() => void) | null

  start (): void {
    this.running = true
    this.scheduleNext()
  }

  /** Stops injecting and heals every active fault now, oldest first. */
  healAll (): void {
    this.running = false
    if (this.timer !== null) this.clock.clearTimer(this.timer)
    this.timer = null
    for (const id of [...this.active.keys()]) this.end(id)
  }

  private scheduleNext (): void {
    const [min, max] = this.timing.intervalMs
    this.timer = this.clock.setTimer(this.random.int(min, max), () => {
      this.timer = null
      if (!this.running) return
      if (this.active.size < this.timing.maxActive) this.startOne()
      this.scheduleNext()
    })
  }

  private startOne (): void {
    const heal = this.inject()
    if (heal === null) return
    this.injected++
    const id = this.nextId++
    const [min, max] = this.timing.durationMs
    const timer = this.clock.setTimer(this.random.int(min, max), () => { this.end(id) })
    this.active.set(id, { heal, timer })
  }

  private end (id: number): void {
    const fault = this.active.get(id)
    if (fault === undefined) return
    this.active.delete(id)
    this.clock.clearTimer(fault.timer)
    fault.heal()
  }
}

/** One kind drawn by weight (one draw of `random`); null when no kind has a positive weight. */
export function pickWeighted<K extends string> (weights: Partial<Record<K, number>>, random: Random): K | null {
  const kinds = (Object.entries(weights) as Array<[K, number | undefined]>).filter((entry): entry is [K, number] => (entry[1] ?? 0) > 0)
  if (kinds.length === 0) return null
  let draw = random.next() * kinds.reduce((sum, [, weight]) => sum + weight, 0)
  for (const [kind, weight] of kinds) {
    draw -= weight
    if (draw < 0) return kind
  }
  return kinds[kinds.length - 1][0]
}
