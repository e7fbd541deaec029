// The Random interface and its seeded implementation (xoroshiro128+ from pure-rand).
// Every random choice in core code and in the simulator comes from one of these, so a seed
// replays exactly.
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'

export interface Random {
  /** Uniform in [0, 1). */
  next (): number
  /** Uniform integer in [min, maxExclusive). */
  int (min: number, maxExclusive: number): number
  /** True with probability p. */
  chance (p: number): boolean
}

export class SeededRandom implements Random {
  private readonly generator: RandomGenerator

  constructor (seed: number) {
    this.generator = xoroshiro128plus(seed | 0)
  }

  next (): number {
    return uniformFloat64(this.generator)
  }

  int (min: number, maxExclusive: number): number {
    if (maxExclusive <= min) throw new RangeError(`empty range [${min}, ${maxExclusive})`)
    return min + Math.floor(this.next() * (maxExclusive - min))
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  /** An independent stream derived from this one (e.g. one per simulated node). */
  fork (): SeededRandom {
    return new SeededRandom(this.int(0, 0x7fffffff))
  }
}
