// The dead-letter policy as data (Pulsar's DeadLetterPolicy): its defaults, its validation,
// and the one decision it makes, whether a message delivered with a given redelivery count
// goes to the dead-letter topic when it is asked for again. Pure (no I/O, no time), so the
// simulator's dead-letter scenario acts on exactly the client's rule
// (`@blazar/client/dead-letter-policy`).
import { DLQ_SUFFIX, InvalidArgumentError, parseTopicName, validateEntityName } from '@blazar/protocol'

/** Pulsar's RetryMessageUtil.MAX_RECONSUMETIMES: maxRedeliverCount when retryEnable comes without a deadLetterPolicy. */
export const DEFAULT_MAX_RECONSUME_TIMES = 16
export { DLQ_SUFFIX }
export const RETRY_SUFFIX = '-RETRY'

export interface DeadLetterPolicy {
  /** Redeliveries after which the next one goes to the dead-letter topic instead. */
  maxRedeliverCount: number
  /** Default `<topic>-<subscription>-DLQ` (the consumer's first topic). */
  deadLetterTopic?: string
  /** Default `<topic>-<subscription>-RETRY`. */
  retryLetterTopic?: string
  /** A subscription created on the dead-letter topic before the first message goes there, so none is lost to retention. */
  initialSubscriptionName?: string
}

export interface ResolvedDeadLetterPolicy {
  maxRedeliverCount: number
  deadLetterTopic: string
  retryLetterTopic: string
  initialSubscriptionName: string | undefined
}

/**
 * The policy with Pulsar's default topic names, from the consumer's first topic and
 * subscription; a pattern consumer (no first topic) must name both topics.
 */
export function resolveDeadLetterPolicy (policy: DeadLetterPolicy, topic: string | undefined, subscription: string): ResolvedDeadLetterPolicy {
  const defaultName = (suffix: string): string => {
    if (topic === undefined) throw new InvalidArgumentError({ argument: 'deadLetterPolicy', reason: 'a topicsPattern consumer needs deadLetterTopic and retryLetterTopic' })
    return `${parseTopicName(topic).base}-${subscription}${suffix}`
  }
  if (!Number.isSafeInteger(policy.maxRedeliverCount) || policy.maxRedeliverCount < 1) {
    throw new InvalidArgumentError({ argument: 'deadLetterPolicy.maxRedeliverCount', reason: 'must be a positive integer' })
  }
  if (policy.initialSubscriptionName !== undefined) validateEntityName('subscription', policy.initialSubscriptionName)
  return {
    maxRedeliverCount: policy.maxRedeliverCount,
    deadLetterTopic: parseTopicName(policy.deadLetterTopic ?? defaultName(DLQ_SUFFIX)).full,
    retryLetterTopic: parseTopicName(policy.retryLetterTopic ?? defaultName(RETRY_SUFFIX)).full,
    initialSubscriptionName: policy.initialSubscriptionName
  }
}

/**
 * Whether a message delivered with `redeliveryCount` (the broker's MESSAGE.redelivery_count)
 * has exhausted its redeliveries: asked for again (negative ack, ack timeout), it is published
 * to the dead-letter topic instead (Pulsar's `redeliveryCount >= maxRedeliverCount`).
 */
export function deadLetterDue (redeliveryCount: number, policy: Pick<ResolvedDeadLetterPolicy, 'maxRedeliverCount'>): boolean {
  return redeliveryCount >= policy.maxRedeliverCount
}
