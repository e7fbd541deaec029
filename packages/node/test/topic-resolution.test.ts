// A topic lookup on a node whose metadata replica is behind (issue 15, bug 4): "cannot tell
// yet" must be the retriable METADATA_UNAVAILABLE, never the definite UNKNOWN_TOPIC.
import t from 'tap'
import type { TopicRecord } from '@blazar/broker'
import { MetadataUnavailableError, parseTopicName } from '@blazar/protocol'
import type { GatewayContext } from '../src/gateway-context.ts'
import { findTopic } from '../src/topic-resolution.ts'

const TOPIC = 'persistent://public/default/orders'

/** A metadata replica that knows `topics` and whose read barrier does what `barrier` does. */
function metadataWith (topics: Map<string, TopicRecord>, barrier: () => Promise<void>): Pick<GatewayContext, 'metadata'> {
  const metadata = { sm: { topic: (name: string) => topics.get(name) }, barrier }
  return { metadata } as unknown as Pick<GatewayContext, 'metadata'>
}

t.test('a failed read barrier is METADATA_UNAVAILABLE, not an unknown topic', async (t) => {
  const context = metadataWith(new Map(), async () => { throw new Error('read index timed out') })
  const failed = await findTopic(context, parseTopicName(TOPIC)).then(() => undefined, (error: unknown) => error)
  t.ok(failed instanceof MetadataUnavailableError, `got ${String(failed)}`)
  t.match((failed as Error).message, /read index timed out/)
})

t.test('a topic the barrier brought in is found; one still missing after a successful barrier is unknown', async (t) => {
  const topics = new Map<string, TopicRecord>()
  const record = { partitions: 0 } as unknown as TopicRecord
  const catchingUp = metadataWith(topics, async () => { topics.set(TOPIC, record) })
  t.equal(await findTopic(catchingUp, parseTopicName(TOPIC)), record, 'applied by the barrier')
  const upToDate = metadataWith(new Map(), async () => {})
  t.equal(await findTopic(upToDate, parseTopicName(TOPIC)), undefined, 'a definite "no such topic"')
})
