// The lifecycle of one subscription's dispatcher on the partition leader, as an xstate v5
// machine (DESIGN.md §6): no consumer → consumers attached → back to no consumer when the last
// one goes away, and closed for good when the subscription is deleted or this node stops
// leading the partition. Exclusive admits one consumer; Shared admits many. Only the lifecycle
// lives here; permits, reads and acks are plain code in the dispatchers, which supply the
// side-effect actions with `provide`.
import type { SubscriptionType } from '@blazar/protocol'
import { assign, setup } from 'xstate'

export interface ConsumerRef {
  consumerId: number
  consumerName: string
}

export type LifecycleEvent =
  | { type: 'ATTACH', consumer: ConsumerRef }
  | { type: 'DETACH', consumerId: number }
  | { type: 'CLOSE', reason: string }

export interface LifecycleContext {
  subscriptionType: SubscriptionType
  consumers: ConsumerRef[]
}

export const subscriptionLifecycle = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as { subscriptionType: SubscriptionType }
  },
  actions: {
    addConsumer: assign({
      consumers: ({ context, event }) => (event.type === 'ATTACH' ? [...context.consumers, event.consumer] : context.consumers)
    }),
    removeConsumer: assign({
      consumers: ({ context, event }) => (event.type === 'DETACH' ? context.consumers.filter((c) => c.consumerId !== event.consumerId) : context.consumers)
    }),
    removeAllConsumers: assign({ consumers: [] }),
    /** A consumer joined: it starts receiving (from the first unacknowledged message on Exclusive). */
    consumerAttached: () => {},
    /** A consumer left: what it had unacknowledged goes back to be redelivered. */
    consumerLost: () => {},
    /** Every consumer is dropped at once (close). */
    allConsumersLost: () => {},
    /** Timers stop, in-flight reads are discarded. */
    stopped: () => {}
  },
  guards: {
    admitsAnotherConsumer: ({ context, event }) =>
      event.type === 'ATTACH' && context.subscriptionType !== 'Exclusive' && !context.consumers.some((c) => c.consumerId === event.consumer.consumerId),
    isOnlyConsumer: ({ context, event }) =>
      event.type === 'DETACH' && context.consumers.length === 1 && context.consumers[0].consumerId === event.consumerId,
    isConsumer: ({ context, event }) => event.type === 'DETACH' && context.consumers.some((c) => c.consumerId === event.consumerId)
  }
}).createMachine({
  id: 'subscription',
  initial: 'noConsumer',
  context: ({ input }) => ({ subscriptionType: input.subscriptionType, consumers: [] }),
  states: {
    noConsumer: {
      on: {
        ATTACH: { target: 'consuming', actions: ['addConsumer', 'consumerAttached'] },
        CLOSE: { target: 'closed' }
      }
    },
    consuming: {
      on: {
        ATTACH: { guard: 'admitsAnotherConsumer', actions: ['addConsumer', 'consumerAttached'] },
        DETACH: [
          { guard: 'isOnlyConsumer', target: 'noConsumer', actions: ['consumerLost', 'removeConsumer'] },
          { guard: 'isConsumer', actions: ['consumerLost', 'removeConsumer'] }
        ],
        CLOSE: { target: 'closed', actions: ['allConsumersLost', 'removeAllConsumers'] }
      }
    },
    closed: {
      type: 'final',
      entry: ['stopped']
    }
  }
})

export type SubscriptionLifecycleState = 'noConsumer' | 'consuming' | 'closed'
