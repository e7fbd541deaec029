// The dispatcher of a subscription type: the one mechanism with that type's policy.
import type { SubscriptionType } from '@blazar/protocol'
import type { DispatcherOptions } from './dispatch-options.ts'
import { KeyHashPolicy } from './key-hash-policy.ts'
import { RoundRobinPolicy } from './round-robin-policy.ts'
import { SingleActivePolicy, type FailoverOptions } from './single-active-policy.ts'
import { SubscriptionDispatcher } from './subscription-dispatcher.ts'

export function exclusiveDispatcher (options: DispatcherOptions): SubscriptionDispatcher<SingleActivePolicy> {
  return new SubscriptionDispatcher(options, (context) => new SingleActivePolicy('Exclusive', options.env, options.partition, context))
}

export function failoverDispatcher (options: DispatcherOptions & FailoverOptions): SubscriptionDispatcher<SingleActivePolicy> {
  return new SubscriptionDispatcher(options, (context) => new SingleActivePolicy('Failover', options.env, options.partition, context, options))
}

export function sharedDispatcher (options: DispatcherOptions): SubscriptionDispatcher<RoundRobinPolicy> {
  return new SubscriptionDispatcher(options, (context, limits) => new RoundRobinPolicy(context, limits.roundRobinBatchSize))
}

export function keySharedDispatcher (options: DispatcherOptions): SubscriptionDispatcher<KeyHashPolicy> {
  return new SubscriptionDispatcher(options, (context) => new KeyHashPolicy(context))
}

export function createDispatcher (type: SubscriptionType, options: DispatcherOptions & FailoverOptions): SubscriptionDispatcher {
  switch (type) {
    case 'Exclusive': return exclusiveDispatcher(options)
    case 'Failover': return failoverDispatcher(options)
    case 'Shared': return sharedDispatcher(options)
    case 'Key_Shared': return keySharedDispatcher(options)
  }
}
