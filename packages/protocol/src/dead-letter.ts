// Dead-letter topic conventions shared by the client's dead-letter path and the broker's
// (a replicated outbox forwarded by the partition leader): Pulsar's default topic name and the
// properties a dead-lettered copy carries (RetryMessageUtil's REAL_TOPIC, ORIGIN_MESSAGE_ID).
import { parseTopicName } from './names.ts'

/** Pulsar's RetryMessageUtil property names: the topic and message ID a dead-lettered copy came from. */
export const REAL_TOPIC = 'REAL_TOPIC'
export const ORIGIN_MESSAGE_ID = 'ORIGIN_MESSAGE_ID'
export const DLQ_SUFFIX = '-DLQ'

/** Pulsar's default dead-letter topic of a subscription: `<topic>-<subscription>-DLQ`, from the topic without its partition suffix. */
export function defaultDeadLetterTopic (topic: string, subscription: string): string {
  return parseTopicName(`${parseTopicName(topic).base}-${subscription}${DLQ_SUFFIX}`).full
}
