// The check that a subscribe cancelled while in flight never attaches, read off the wire at
// every node's server end (client connections and forwarding connections alike): a
// close-consumer that reaches a node while a subscribe of the same handle is still being
// served there cancels that subscribe, so the node must answer it with an error. An ok answer
// means the node attached a consumer its client has already let go of: it holds permits and
// messages nobody reads (on an Exclusive subscription, it refuses every later consumer). The
// gateway serves both requests in arrival order, so the verdict needs no grace period and no
// stall: it is given at the subscribe's answer. Owns, per session, the subscribes in flight.
import type { GatewaySession } from '@blazar/node/core'
import type { QueueOracles } from './queue-oracles.ts'

interface SubscribeInFlight {
  cancelled: boolean
}

type Request = { type?: unknown, consumerId?: unknown, topic?: unknown, subscription?: unknown }

export class CancelledSubscribeOracle {
  private readonly oracles: QueueOracles
  private readonly sessions = new WeakMap<GatewaySession, Map<number, Set<SubscribeInFlight>>>()

  constructor (oracles: QueueOracles) {
    this.oracles = oracles
  }

  /** Watches one request `node` serves on `session`; resolves to the same answer. */
  observe (node: string, session: GatewaySession, body: unknown, answer: Promise<unknown>): Promise<unknown> {
    const request = (body ?? {}) as Request
    // Only subscribes and closes matter: flows and acks, the bulk of the traffic, pass untouched.
    if ((request.type !== 'subscribe' && request.type !== 'close-consumer') || typeof request.consumerId !== 'number') return answer
    const handle = request.consumerId
    let inFlight = this.sessions.get(session)
    if (inFlight === undefined) {
      inFlight = new Map()
      this.sessions.set(session, inFlight)
    }
    if (request.type === 'close-consumer') {
      for (const subscribe of inFlight.get(handle) ?? []) subscribe.cancelled = true
      return answer
    }
    const subscribe: SubscribeInFlight = { cancelled: false }
    const ofHandle = inFlight.get(handle) ?? new Set()
    ofHandle.add(subscribe)
    inFlight.set(handle, ofHandle)
    return answer.then((reply) => {
      ofHandle.delete(subscribe)
      if (ofHandle.size === 0 && inFlight.get(handle) === ofHandle) inFlight.delete(handle)
      if (subscribe.cancelled && (reply as { ok?: unknown } | null)?.ok === true) {
        this.oracles.report('queue-cancelled-subscribe-attached', `${node} attached consumer ${handle} of ${session.peer} to ${String(request.subscription)} on ${String(request.topic)} although a close-consumer of that handle arrived while the subscribe was served`)
      }
      return reply
    }, (error: unknown) => {
      ofHandle.delete(subscribe)
      if (ofHandle.size === 0 && inFlight.get(handle) === ofHandle) inFlight.delete(handle)
      throw error
    })
  }
}
