// What the node workload's clients share. Its producers, consumers and admin client are the
// production client (node-producer.ts, node-consumer.ts, node-workload.ts) over simulated
// connections to any node, so every request goes through the production gateway.
import type { NodeId, VirtualClock } from '@blazar/env'
import { parseClientReply, type ClientReply, type ClientRequestBody } from '@blazar/protocol'
import type { NodeWorld } from './node-world.ts'
import type { QueueOracles } from './queue-oracles.ts'

/** What the simulated clients share. */
export interface NodeClients {
  clock: VirtualClock
  world: NodeWorld
  oracles: QueueOracles
  topic: string
  record: (line: string) => void
}

/**
 * The reply `node` gave to `request`. The workload's clients start only once its topic exists,
 * and it exists to the end: a node answering UNKNOWN_TOPIC for it said "no such topic" when it
 * could not tell (issue 15, bug 4), a queue-unknown-topic violation.
 */
export function checkedReply (clients: NodeClients, who: string, node: NodeId, request: ClientRequestBody, raw: unknown): ClientReply {
  const reply = parseClientReply(raw, request.type)
  if (!reply.ok && reply.error.code === 'UNKNOWN_TOPIC') {
    clients.oracles.report('queue-unknown-topic', `${who} was told by ${node} that ${clients.topic}, which exists, is unknown`)
  }
  return reply
}
