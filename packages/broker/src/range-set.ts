// A set of non-negative integers kept as sorted, disjoint, non-adjacent inclusive ranges.
// Holds a cursor's individually acknowledged entry indexes ("ack holes" are the gaps).
import { assert } from './state-machine.ts'

export type IndexRange = [from: number, to: number]

export class RangeSet {
  private ranges: IndexRange[] = []

  static from (ranges: readonly IndexRange[]): RangeSet {
    const set = new RangeSet()
    for (const [from, to] of ranges) set.add(from, to)
    return set
  }

  get rangeCount (): number {
    return this.ranges.length
  }

  /** Adds [from, to]; merges with overlapping and adjacent ranges. */
  add (from: number, to: number): void {
    assert(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from <= to, `bad range [${from}, ${to}]`)
    const ranges = this.ranges
    const lo = this.firstEndingAtOrAfter(from - 1)
    let start = from
    let end = to
    let hi = lo
    while (hi < ranges.length && ranges[hi][0] <= to + 1) {
      start = Math.min(start, ranges[hi][0])
      end = Math.max(end, ranges[hi][1])
      hi++
    }
    ranges.splice(lo, hi - lo, [start, end])
  }

  has (value: number): boolean {
    const i = this.firstEndingAtOrAfter(value)
    return i < this.ranges.length && this.ranges[i][0] <= value
  }

  /** The range containing `value`, if any. */
  rangeAt (value: number): IndexRange | undefined {
    const i = this.firstEndingAtOrAfter(value)
    return i < this.ranges.length && this.ranges[i][0] <= value ? this.ranges[i] : undefined
  }

  /** Removes every value <= `upTo`. */
  removeUpTo (upTo: number): void {
    const i = this.firstEndingAtOrAfter(upTo + 1)
    this.ranges.splice(0, i)
    if (this.ranges.length > 0 && this.ranges[0][0] <= upTo) this.ranges[0] = [upTo + 1, this.ranges[0][1]]
  }

  first (): IndexRange | undefined {
    return this.ranges[0]
  }

  /** Removes and returns the lowest range. */
  shift (): IndexRange | undefined {
    return this.ranges.shift()
  }

  /** Keeps only the lowest `max` ranges (Pulsar persists the first N ack holes). */
  truncate (max: number): void {
    if (this.ranges.length > max) this.ranges.length = max
  }

  toArray (): IndexRange[] {
    return this.ranges.map(([from, to]) => [from, to])
  }

  clear (): void {
    this.ranges = []
  }

  /** Index of the first range whose end is >= value. */
  private firstEndingAtOrAfter (value: number): number {
    let lo = 0
    let hi = this.ranges.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.ranges[mid][1] < value) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
