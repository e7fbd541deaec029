// Operator force-recovery of a partition that lost its majority for good (never automatic):
// run on the metadata leader (other nodes forward the request there). It refuses while any
// reachable replica reports a leader, picks the survivor (the operator's choice, else the
// reachable replica with the highest commit index), makes the placement that survivor alone
// (`recover-placement`: the lost replicas never serve the group again, even if they return),
// then has the survivor force its Raft membership to itself (RaftNode.forceSingleVoter). The
// placement actor then grows the group back to its replication factor (`add-replica`).
import { InvalidArgumentError, NotLeaderError, UnknownTopicError, errorFromWire, parseTopicName, type ClientReply, type ClientRequestBody, type ClientResult } from '@blazar/protocol'
import { clusterStatus } from './admin-handlers.ts'
import { forward, ok, type GatewayContext } from './gateway-context.ts'
import { METADATA_GROUP } from './metadata-service.ts'
import { metadataLeader } from './metadata-writes.ts'

type ForceRecoverBody = Extract<ClientRequestBody, { type: 'topics-force-recover' }>

/** `forwardable`: false for a request another node already forwarded here. */
export async function forceRecover (context: GatewayContext, forwardable: boolean, body: ForceRecoverBody): Promise<ClientReply> {
  const { metadata } = context
  if (!metadata.isLeader) {
    if (!forwardable) throw new NotLeaderError({ group: METADATA_GROUP, leaderHint: metadata.leaderHint() })
    const leader = await metadataLeader(context)
    if (leader !== context.self) return await forward(context, leader, body)
  }
  const group = parseTopicName(body.topic).full
  const placement = metadata.sm.placement(group)
  if (placement === undefined) throw new UnknownTopicError({ topic: body.topic })
  const status = await clusterStatus(context)
  if (!status.ok) return status
  const rows = (status.result as ClientResult<'cluster-status'>).groups.filter((row) => row.group === group)
  const leading = rows.find((row) => row.role === 'leader')
  if (leading !== undefined) {
    throw new InvalidArgumentError({ argument: 'topic', reason: `${group} has a leader (${leading.node ?? '?'}): force-recovery is only for a partition that lost its majority` })
  }
  const reachable = rows.filter((row) => row.node !== undefined && placement.replicas.includes(row.node))
    .sort((a, b) => b.commitIndex - a.commitIndex || b.appliedIndex - a.appliedIndex || String(a.node).localeCompare(String(b.node)))
  const survivor = body.survivor ?? reachable[0]?.node
  if (survivor === undefined) throw new InvalidArgumentError({ argument: 'topic', reason: `no replica of ${group} answers: nothing to recover from` })
  if (!reachable.some((row) => row.node === survivor)) {
    throw new InvalidArgumentError({ argument: 'survivor', reason: `${survivor} does not answer for ${group} (reachable replicas: ${reachable.map((row) => row.node).join(', ') || 'none'})` })
  }
  context.env.logger.warn('force-recovery: rebuilding a partition from one replica; what only the lost replicas held is lost', { group, survivor, lost: placement.replicas.filter((id) => id !== survivor) })
  await metadata.propose({ type: 'recover-placement', group, survivor })
  const reply = survivor === context.self
    ? ok({ commitIndex: await context.partitions.forceRecover(group) })
    : await forward(context, survivor, { type: 'partition-force-recover', group })
  if (!reply.ok) throw errorFromWire(reply.error)
  return ok({ survivor, commitIndex: (reply.result as ClientResult<'partition-force-recover'>).commitIndex })
}
