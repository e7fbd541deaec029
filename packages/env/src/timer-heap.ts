// A binary min-heap of timers ordered by (deadline, sequence number): the one event queue both
// clocks keep (VirtualClock for the simulator, SystemClock for hosts). Cancellation is the
// owner's business: it skips heads it no longer holds live.
export interface HeapTimer {
  at: number
  seq: number
}

export class TimerHeap<T extends HeapTimer> {
  private readonly heap: T[] = []

  get length (): number {
    return this.heap.length
  }

  /** The earliest timer, without removing it. */
  peek (): T | undefined {
    return this.heap[0]
  }

  push (timer: T): void {
    const heap = this.heap
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i] as T, heap[parent] as T)) break
      ;[heap[i], heap[parent]] = [heap[parent] as T, heap[i] as T]
      i = parent
    }
  }

  /** Removes the earliest timer. */
  pop (): void {
    const heap = this.heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && before(heap[left] as T, heap[smallest] as T)) smallest = left
      if (right < heap.length && before(heap[right] as T, heap[smallest] as T)) smallest = right
      if (smallest === i) return
      ;[heap[i], heap[smallest]] = [heap[smallest] as T, heap[i] as T]
      i = smallest
    }
  }

  /** Pops heads while `isLive` says they were cancelled. */
  dropCancelled (isLive: (timer: T) => boolean): void {
    for (let head = this.heap[0]; head !== undefined && !isLive(head); head = this.heap[0]) this.pop()
  }

  clear (): void {
    this.heap.length = 0
  }
}

function before (a: HeapTimer, b: HeapTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
