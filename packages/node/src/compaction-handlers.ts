// Topic compaction's admin requests, each partition served by its leader (here or forwarded):
// `topics-compact` (Pulsar's triggerCompaction: a replicated horizon per partition; the leader
// builds the view after answering) and `topics-compaction-status` (Pulsar's compactionStatus).
import { groupsOfTopic, type CompactionStatus } from '@blazar/broker'
import { UnknownTopicError, parseTopicName, type ClientReply, type ClientRequestBody, type ClientResult } from '@blazar/protocol'
import { atLeader, forward, ok, type GatewayContext } from './gateway-context.ts'
import type { SessionState } from './session-state.ts'
import { findTopic } from './topic-resolution.ts'

type Body<T extends ClientRequestBody['type']> = Extract<ClientRequestBody, { type: T }>
type CompactionRequest = Body<'topics-compact' | 'topics-compaction-status'>
type PartitionCompaction = ClientResult<'topics-compaction-status'>['partitions'][number]

/** Compacts, or reports the compaction of, every partition of the topic (or the one partition named). */
export async function compactionRequest (context: GatewayContext, state: SessionState, body: CompactionRequest): Promise<ClientReply> {
  const name = parseTopicName(body.topic)
  const record = await findTopic(context, name)
  if (record === undefined) throw new UnknownTopicError({ topic: name.full })
  const groups = record.partitions === 0 || name.partitionIndex >= 0 ? [name.full] : groupsOfTopic(record)
  const partitions: Array<{ group: string, horizon: number } | PartitionCompaction> = []
  for (const group of groups) {
    const reply = await atLeader(context, state, group, {
      local: async ({ replica }) => ok({
        partitions: [body.type === 'topics-compact' ? { group, ...(await replica.compact()) } : statusOf(group, replica.compaction())]
      }),
      remote: async (node) => await forward(context, node, { type: body.type, topic: group })
    })
    if (!reply.ok) return reply
    partitions.push(...(reply.result as { partitions: typeof partitions }).partitions)
  }
  return ok({ partitions })
}

/** Pulsar's LongRunningProcessStatus of one partition's compaction. */
function statusOf (group: string, status: CompactionStatus): PartitionCompaction {
  const base = { group, horizon: status.horizon, keys: status.keys }
  if (status.error !== undefined) return { ...base, status: 'ERROR', lastError: status.error }
  if (status.horizon === 0) return { ...base, status: 'NOT_RUN' }
  return { ...base, status: status.builtTo === status.horizon ? 'SUCCESS' : 'RUNNING' }
}
