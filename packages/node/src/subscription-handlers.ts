// Admin subscription requests (Pulsar's subscription REST operations): create at a position,
// delete, move the cursor (skip, skip all, expire, reset) and peek, each served by the
// partition's leader (here or forwarded). On a partitioned topic, create, delete and moves
// apply to every partition in turn; a peek needs one partition.
import { groupsOfTopic } from '@blazar/broker'
import {
  InvalidArgumentError, UnknownSubscriptionError, UnknownTopicError, decodeBatch, parseTopicName,
  type ClientReply, type ClientRequestBody
} from '@blazar/protocol'
import { atLeader, forward, ok, type GatewayContext } from './gateway-context.ts'
import { PARTITION_CODECS, type HostedPartition } from './partition-service.ts'
import type { SessionState } from './session-state.ts'
import { findTopic } from './topic-resolution.ts'

type Body<T extends ClientRequestBody['type']> = Extract<ClientRequestBody, { type: T }>
type PartitionRequest = Body<'subscriptions-create' | 'subscriptions-delete' | 'subscriptions-move' | 'subscriptions-peek'>


export async function subscriptionRequest (context: GatewayContext, state: SessionState, body: PartitionRequest): Promise<ClientReply> {
  const name = parseTopicName(body.topic)
  const record = await findTopic(context, name)
  if (record === undefined) throw new UnknownTopicError({ topic: name.full })
  if (record.partitions === 0 || name.partitionIndex >= 0) return await atPartition(context, state, name.full, body)
  if (body.type === 'subscriptions-peek') {
    throw new InvalidArgumentError({ argument: 'topic', reason: `${record.name} is partitioned: peek one of its partitions (${record.name}-partition-<i>)` })
  }
  let last: ClientReply = ok()
  let found = false
  for (const group of groupsOfTopic(record)) {
    last = await atPartition(context, state, group, body)
    // A subscription may exist on some partitions only (created by consumers of those).
    if (!last.ok && last.error.code === UnknownSubscriptionError.code && body.type !== 'subscriptions-create') continue
    if (!last.ok) return last
    found = true
  }
  if (!found && body.type !== 'subscriptions-create') throw new UnknownSubscriptionError({ topic: record.name, subscription: body.subscription })
  return body.type === 'subscriptions-move' ? ok({ markDelete: 0 }) : last
}

async function atPartition (context: GatewayContext, state: SessionState, group: string, body: PartitionRequest): Promise<ClientReply> {
  return await atLeader(context, state, group, {
    local: async (partition) => await serveLocally(partition, body),
    remote: async (node) => await forward(context, node, { ...body, topic: group })
  })
}

async function serveLocally ({ replica, sm }: HostedPartition, body: PartitionRequest): Promise<ClientReply> {
  switch (body.type) {
    case 'subscriptions-create':
      await replica.createSubscription(body.subscription, body.position)
      return ok()
    case 'subscriptions-delete':
      await replica.deleteSubscription(body.subscription, body.force)
      return ok()
    case 'subscriptions-move':
      return ok({ markDelete: await replica.moveSubscription(body.subscription, body.move) })
    case 'subscriptions-peek': {
      const found = await replica.peek(body.subscription, body.position)
      if (found === undefined) throw new InvalidArgumentError({ argument: 'position', reason: `subscription ${body.subscription} has fewer than ${body.position} unacknowledged messages` })
      const message = decodeBatch(found.batch.envelope, PARTITION_CODECS)[found.batchIndex]
      return ok({
        messageId: { partition: sm.partition, index: found.batch.index, batchIndex: found.batchIndex },
        publishTime: found.batch.publishTime,
        eventTime: message.eventTime,
        ...(message.key === undefined ? {} : { key: message.key }),
        properties: message.properties,
        payload: message.payload,
        redeliveryCount: 0
      })
    }
  }
}
