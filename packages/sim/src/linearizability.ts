// A linearizability checker for registers: the Wing-Gong search with Lowe's memoization
// (the algorithm of Porcupine/Knossos' "linear" checker), run per key since keys are
// independent registers. Completed reads and writes take part; failed operations had no effect
// and are dropped; unknown (info or still pending) writes may take effect at any point after
// their invocation, so their return is placed after everything else; unknown reads are dropped.
import type { Operation } from './history.ts'

export interface LinearizabilityResult {
  ok: boolean
  /** For a failure: the key whose history has no linearization, and a short explanation. */
  key?: string
  explanation?: string
  /** Search exceeded its step budget for some key (neither proven nor refuted). */
  inconclusive?: string[]
}

/** Search steps per key before giving up as inconclusive. */
export const MAX_SEARCH_STEPS = 5_000_000

interface Event {
  op: CheckedOp
  isCall: boolean
  time: number
  prev: Event | null
  next: Event | null
  match: Event | null
}

interface CheckedOp {
  slot: number
  kind: 'read' | 'write'
  value: string | null
  source: Operation
}

export function checkLinearizable (operations: readonly Operation[]): LinearizabilityResult {
  const byKey = new Map<string, Operation[]>()
  for (const op of operations) {
    let list = byKey.get(op.key)
    if (list === undefined) byKey.set(op.key, list = [])
    list.push(op)
  }
  const inconclusive: string[] = []
  for (const key of [...byKey.keys()].sort()) {
    const verdict = checkRegister(byKey.get(key) ?? [])
    if (verdict === 'inconclusive') inconclusive.push(key)
    else if (verdict !== true) return { ok: false, key, explanation: verdict }
  }
  return inconclusive.length > 0 ? { ok: true, inconclusive } : { ok: true }
}

/** true when linearizable, an explanation when not, 'inconclusive' past the step budget. */
export function checkRegister (operations: readonly Operation[]): true | string | 'inconclusive' {
  const checked: CheckedOp[] = []
  const events: Event[] = []
  const end = Number.MAX_SAFE_INTEGER
  for (const op of operations) {
    if (op.outcome === 'fail') continue
    const known = op.outcome === 'ok'
    if (!known && op.kind === 'read') continue
    const entry: CheckedOp = { slot: checked.length, kind: op.kind, value: op.value, source: op }
    checked.push(entry)
    const call: Event = { op: entry, isCall: true, time: op.invokedAt, prev: null, next: null, match: null }
    const ret: Event = { op: entry, isCall: false, time: known ? (op.completedAt ?? end) : end, prev: null, next: null, match: null }
    call.match = ret
    events.push(call, ret)
  }
  if (checked.length === 0) return true
  // Calls before returns at equal time (only the shared "end" can tie).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1))
  const head: Event = { op: checked[0], isCall: false, time: -1, prev: null, next: null, match: null }
  let last = head
  for (const event of events) {
    last.next = event
    event.prev = last
    last = event
  }

  const words = Math.ceil(checked.length / 32)
  const linearized = new Uint32Array(words)
  const seen = new Set<string>()
  const stack: Array<{ call: Event, state: string | null }> = []
  let state: string | null = null
  let entry: Event | null = head.next
  let steps = 0
  let deepest = 0

  while (head.next !== null) {
    if (++steps > MAX_SEARCH_STEPS) return 'inconclusive'
    if (entry === null) throw new Error('linearizability search walked off the event list')
    if (entry.isCall) {
      const op = entry.op
      const next = step(state, op)
      if (next.ok) {
        linearized[op.slot >> 5] |= 1 << (op.slot & 31)
        const memo = `${linearized.join(',')}|${next.state ?? '\u0001'}`
        if (!seen.has(memo)) {
          seen.add(memo)
          stack.push({ call: entry, state })
          if (stack.length > deepest) deepest = stack.length
          state = next.state
          lift(entry)
          entry = head.next
          continue
        }
        linearized[op.slot >> 5] &= ~(1 << (op.slot & 31))
      }
      entry = entry.next
    } else {
      const top = stack.pop()
      if (top === undefined) return explain(entry.op, deepest, checked.length)
      const op = top.call.op
      linearized[op.slot >> 5] &= ~(1 << (op.slot & 31))
      state = top.state
      unlift(top.call)
      entry = top.call.next
    }
  }
  return true
}

function step (state: string | null, op: CheckedOp): { ok: boolean, state: string | null } {
  if (op.kind === 'write') return { ok: true, state: op.value }
  return { ok: state === op.value, state }
}

function lift (call: Event): void {
  const ret = call.match as Event
  ;(call.prev as Event).next = call.next
  if (call.next !== null) call.next.prev = call.prev
  ;(ret.prev as Event).next = ret.next
  if (ret.next !== null) ret.next.prev = ret.prev
}

function unlift (call: Event): void {
  const ret = call.match as Event
  ;(ret.prev as Event).next = ret
  if (ret.next !== null) ret.next.prev = ret
  ;(call.prev as Event).next = call
  if (call.next !== null) call.next.prev = call
}

function explain (blocked: CheckedOp, deepest: number, total: number): string {
  const op = blocked.source
  const what = op.kind === 'read' ? `read ${JSON.stringify(op.value)}` : `write ${JSON.stringify(op.value)}`
  return `no linearization: operation ${op.id} (client ${op.client}, ${what}, invoked t=${op.invokedTime}ms, ` +
    `completed t=${op.completedTime ?? '?'}ms) cannot be placed; at most ${deepest} of ${total} operations linearized`
}
