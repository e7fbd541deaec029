// Metadata writes from any node: proposed here when this node leads the metadata group,
// otherwise forwarded to the leader (waiting a bounded time for one to be elected). Forwarded
// writes arriving from another node are proposed here or refused with NOT_LEADER, never
// forwarded again.
import type { MetadataCommand } from '@blazar/broker'
import { NotLeaderError, errorToWire, type ClientReply, type ClientRequestBody } from '@blazar/protocol'
import { forward, ok, type GatewayContext } from './gateway-context.ts'
import { METADATA_GROUP } from './metadata-service.ts'

/** How long a metadata write waits for a metadata leader to be known. */
export const METADATA_LEADER_WAIT_MS = 5000
const LEADER_POLL_MS = 50

/** `forwardable`: false for requests that were already forwarded to this node by another node. */
export async function metadataWrite (context: GatewayContext, forwardable: boolean, body: ClientRequestBody, command: MetadataCommand): Promise<ClientReply> {
  const { metadata } = context
  if (metadata.isLeader) {
    await metadata.propose(command)
    return ok()
  }
  if (!forwardable) throw new NotLeaderError({ group: METADATA_GROUP, leaderHint: metadata.leaderHint() })
  const leader = await metadataLeader(context)
  if (leader === context.self) {
    await metadata.propose(command)
    return ok()
  }
  try {
    return await forward(context, leader, body)
  } catch (error) {
    return { ok: false, error: errorToWire(new NotLeaderError({ group: METADATA_GROUP, leaderHint: null }, `metadata leader ${leader} unreachable: ${String(error)}`)) }
  }
}

/** The metadata leader, waiting up to METADATA_LEADER_WAIT_MS for an election. */
export async function metadataLeader (context: GatewayContext): Promise<string> {
  const deadline = context.env.clock.now() + METADATA_LEADER_WAIT_MS
  for (;;) {
    const leader = context.metadata.leader()
    if (leader !== null) return leader
    if (context.env.clock.now() >= deadline) throw new NotLeaderError({ group: METADATA_GROUP, leaderHint: null })
    await new Promise<void>((resolve) => { context.env.clock.setTimer(LEADER_POLL_MS, resolve) })
  }
}
