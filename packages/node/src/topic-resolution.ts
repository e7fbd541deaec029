// Turns a topic name from a request into the Raft group that serves it: the topic itself when
// non-partitioned, or one partition (`...-partition-N`). Unknown locally means "maybe not
// applied here yet": the metadata read barrier is awaited before answering UNKNOWN_TOPIC, so a
// topic created through another node is visible. When the barrier fails (a restarted node whose
// metadata replica is behind and cannot reach a leader yet) the answer is the retriable
// METADATA_UNAVAILABLE, never the definite UNKNOWN_TOPIC. With the namespace's autoTopicCreation on,
// a missing topic is created (non-partitioned, as Pulsar's default creation type).
import type { TopicRecord } from '@blazar/broker'
import {
  InvalidArgumentError, MetadataUnavailableError, NON_PARTITIONED, UnknownTopicError, errorFromWire, namespaceOf, parseTopicName,
  type TopicName
} from '@blazar/protocol'
import type { GatewayContext } from './gateway-context.ts'
import { metadataWrite } from './metadata-writes.ts'
import type { SessionState } from './session-state.ts'

/**
 * The topic's metadata record, after a read barrier if it is not known here; undefined only
 * when the barrier succeeded. Throws MetadataUnavailableError when this node cannot tell.
 */
export async function findTopic (context: Pick<GatewayContext, 'metadata' | 'faults'>, name: TopicName): Promise<TopicRecord | undefined> {
  const known = context.metadata.sm.topic(name.full)
  if (known !== undefined) return known
  try {
    await context.metadata.barrier()
  } catch (error) {
    if (context.faults?.unknownTopicWhenBehind === true) return undefined
    throw new MetadataUnavailableError({ reason: error instanceof Error ? error.message : String(error) })
  }
  return context.metadata.sm.topic(name.full)
}

/** The group of a producer's or consumer's topic, creating the topic when the namespace allows it. */
export async function groupForClient (context: GatewayContext, state: SessionState, topic: string): Promise<string> {
  const name = parseTopicName(topic)
  let record = await findTopic(context, name)
  if (record === undefined && name.partitionIndex === NON_PARTITIONED && autoCreates(context, name)) {
    const reply = await metadataWrite(context, !state.fromMember, { type: 'topics-create', topic: name.full, partitions: 0 })
    if (!reply.ok && reply.error.code !== 'TOPIC_ALREADY_EXISTS') throw errorFromWire(reply.error)
    record = await findTopic(context, name)
  }
  if (record === undefined) throw new UnknownTopicError({ topic: name.full })
  if (record.partitions > 0 && name.partitionIndex === NON_PARTITIONED) {
    throw new InvalidArgumentError({ argument: 'topic', reason: `${name.full} has ${record.partitions} partitions: open one producer or consumer per partition (${name.full}-partition-<i>)` })
  }
  return name.full
}

function autoCreates (context: GatewayContext, name: TopicName): boolean {
  try {
    return context.metadata.sm.namespacePolicies(namespaceOf(name)).autoTopicCreation
  } catch {
    return false
  }
}
