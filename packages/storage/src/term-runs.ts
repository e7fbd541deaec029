// Terms of a group's log held in memory, one run per term change, so termAt() is synchronous
// and costs a binary search. Memory is proportional to the number of term changes in the log.

export class TermRuns {
  /** First index of each run; runs are contiguous and end at `last`. */
  private starts: number[] = []
  private terms: number[] = []
  private last = 0

  /** Number of runs (for memory accounting). */
  runs (): number {
    return this.starts.length
  }

  append (index: number, term: number): void {
    const runs = this.starts.length
    if (runs > 0 && this.terms[runs - 1] === term) {
      this.last = index
      return
    }
    this.starts.push(index)
    this.terms.push(term)
    this.last = index
  }

  termAt (index: number): number | undefined {
    if (this.starts.length === 0 || index < this.starts[0] || index > this.last) return undefined
    let low = 0
    let high = this.starts.length - 1
    while (low < high) {
      const mid = (low + high + 1) >> 1
      if (this.starts[mid] <= index) low = mid
      else high = mid - 1
    }
    return this.terms[low]
  }

  /** Keeps only indexes < fromIndex. */
  truncateFrom (fromIndex: number): void {
    while (this.starts.length > 0 && this.starts[this.starts.length - 1] >= fromIndex) {
      this.starts.pop()
      this.terms.pop()
    }
    this.last = this.starts.length === 0 ? 0 : Math.min(this.last, fromIndex - 1)
  }

  /** Drops indexes <= index. */
  discardThrough (index: number): void {
    if (this.starts.length === 0) return
    if (index >= this.last) {
      this.clear()
      return
    }
    let drop = 0
    while (drop + 1 < this.starts.length && this.starts[drop + 1] <= index + 1) drop++
    if (drop > 0) {
      this.starts = this.starts.slice(drop)
      this.terms = this.terms.slice(drop)
    }
    if (this.starts[0] <= index) this.starts[0] = index + 1
  }

  clear (): void {
    this.starts = []
    this.terms = []
    this.last = 0
  }
}
