// The client workload: a few clients, each running one operation at a time against the
// replicated KV registers: writes go through propose(), reads through readIndex() and then the
// serving node's local state machine. Every operation is recorded in the History with its
// outcome (ok, fail when it definitely had no effect, info when unknown). A client that waits
// longer than its timeout gives up waiting (the operation stays pending in the history, as a
// Jepsen client would crash) and carries on with a new one.
import type { NodeId, Random } from '@blazar/env'
import type { Cluster } from './cluster.ts'
import { History, type Operation } from './history.ts'
import { KV_WRITE_KIND, encodeWrite } from './kv-register.ts'

export interface WorkloadOptions {
  clients: number
  keys: number
  /** Share of reads among operations. */
  readRatio: number
  /** Pause between a client's operations, uniform in [min, max) ms. */
  thinkMs: [number, number]
  /** A client stops waiting for an operation after this long. */
  clientTimeoutMs: number
}

export const defaultWorkload: WorkloadOptions = { clients: 3, keys: 3, readRatio: 0.4, thinkMs: [40, 400], clientTimeoutMs: 4_000 }

/** Operations in flight at once, at most (abandoned ones included); beyond it clients wait. */
export const MAX_OPERATIONS_IN_FLIGHT = 64

export class Workload {
  readonly history = new History()
  private readonly cluster: Cluster
  private readonly random: Random
  private readonly options: WorkloadOptions
  private running = false
  private nextValue = 0
  private leaderHint: NodeId | null = null
  private readonly unsettled = new Set<Promise<unknown>>()

  constructor (cluster: Cluster, random: Random, options: WorkloadOptions = defaultWorkload) {
    this.cluster = cluster
    this.random = random
    this.options = options
  }

  start (): void {
    if (this.running) return
    this.running = true
    for (let client = 0; client < this.options.clients; client++) this.schedule(client)
  }

  /** Clients issue no new operations; those in flight carry on. */
  stop (): void {
    this.running = false
  }

  /** Operations whose Raft call has not settled yet. */
  get inFlight (): number {
    return this.unsettled.size
  }

  private schedule (client: number): void {
    const [min, max] = this.options.thinkMs
    this.cluster.clock.setTimer(this.random.int(min, max), () => this.issue(client))
  }

  private issue (client: number): void {
    if (!this.running) return
    if (this.unsettled.size >= MAX_OPERATIONS_IN_FLIGHT) {
      this.schedule(client)
      return
    }
    const key = `k${this.random.int(0, this.options.keys)}`
    const target = this.pickNode()
    const clock = this.cluster.clock
    let op: Operation
    let call: Promise<string | null | number>
    if (this.random.chance(this.options.readRatio)) {
      op = this.history.invoke(client, 'read', key, null, clock.now())
      call = this.cluster.request(target, async (raft, node) => {
        await raft.readIndex()
        return node.kv.read(key)
      })
    } else {
      const value = `${client}.${this.nextValue++}`
      op = this.history.invoke(client, 'write', key, value, clock.now())
      call = this.cluster.request(target, (raft) => raft.propose(encodeWrite({ key, value }), KV_WRITE_KIND))
    }
    this.cluster.record(`invoke c${client} ${op.kind} ${key} ${op.value ?? ''} @${target}`)
    let waiting = true
    const timeout = clock.setTimer(this.options.clientTimeoutMs, () => {
      if (!waiting) return
      waiting = false
      this.cluster.record(`timeout c${client} op${op.id}`)
      this.schedule(client)
    })
    const settled = call.then((result) => {
      this.history.complete(op, 'ok', clock.now(), op.kind === 'read' ? result as string | null : undefined)
      this.cluster.record(`ok c${client} op${op.id} ${op.kind === 'read' ? op.value ?? '-' : result}`)
      if (op.kind === 'write') this.leaderHint = target
    }, (error: unknown) => {
      const outcome = classify(op, error)
      this.history.complete(op, outcome, clock.now())
      const code = (error as { code?: string } | null)?.code ?? 'ERROR'
      this.cluster.record(`${outcome} c${client} op${op.id} ${code}`)
      const hint = (error as { leaderHint?: NodeId | null } | null)?.leaderHint
      this.leaderHint = typeof hint === 'string' && this.cluster.nodes.has(hint) ? hint : null
    }).finally(() => {
      this.unsettled.delete(settled)
      if (waiting) {
        waiting = false
        clock.clearTimer(timeout)
        this.schedule(client)
      }
    })
    this.unsettled.add(settled)
  }

  private pickNode (): NodeId {
    if (this.leaderHint !== null && this.random.chance(0.9)) return this.leaderHint
    const ids = this.cluster.ids()
    return ids[this.random.int(0, ids.length)]
  }
}

/** Rejections that prove the operation never took effect; anything else is unknown. */
const DEFINITE_FAILURES = new Set(['NOT_LEADER', 'BACKPRESSURE', 'TRANSFER_IN_PROGRESS', 'NODE_DOWN'])

function classify (op: Operation, error: unknown): 'fail' | 'info' {
  if (op.kind === 'read') return 'fail'
  const code = (error as { code?: string } | null)?.code
  return code !== undefined && DEFINITE_FAILURES.has(code) ? 'fail' : 'info'
}
