// The lifecycle of one subscription's dispatcher on the partition leader, as an xstate v5
// machine (DESIGN.md §6): no consumer → one active consumer (Exclusive) → back to no consumer
// when it goes away, and closed for good when the subscription is deleted or this node stops
// leading the partition. Only the lifecycle lives here; permits, reads and acks are plain code
// in the dispatcher, which supplies the side-effect actions with `provide`.
import { assign, setup } from 'xstate'

export interface ConsumerRef {
  consumerId: number
  consumerName: string
}

export type LifecycleEvent =
  | { type: 'ATTACH', consumer: ConsumerRef }
  | { type: 'DETACH', consumerId: number }
  | { type: 'CLOSE', reason: string }

export const subscriptionLifecycle = setup({
  types: {
    context: {} as { consumer: ConsumerRef | null },
    events: {} as LifecycleEvent
  },
  actions: {
    rememberConsumer: assign({ consumer: ({ event }) => (event.type === 'ATTACH' ? event.consumer : null) }),
    forgetConsumer: assign({ consumer: null }),
    /** The new consumer starts receiving from the first unacknowledged message. */
    consumerActivated: () => {},
    /** Everything delivered but unacknowledged goes back to be redelivered. */
    consumerLost: () => {},
    /** Timers stop, in-flight reads are discarded. */
    stopped: () => {}
  },
  guards: {
    isCurrentConsumer: ({ context, event }) => event.type === 'DETACH' && context.consumer?.consumerId === event.consumerId
  }
}).createMachine({
  id: 'subscription',
  initial: 'noConsumer',
  context: { consumer: null },
  states: {
    noConsumer: {
      on: {
        ATTACH: { target: 'activeConsumer', actions: ['rememberConsumer', 'consumerActivated'] },
        CLOSE: { target: 'closed' }
      }
    },
    activeConsumer: {
      on: {
        DETACH: { guard: 'isCurrentConsumer', target: 'noConsumer', actions: ['consumerLost', 'forgetConsumer'] },
        CLOSE: { target: 'closed', actions: ['consumerLost', 'forgetConsumer'] }
      }
    },
    closed: {
      type: 'final',
      entry: ['stopped']
    }
  }
})

export type SubscriptionLifecycleState = 'noConsumer' | 'activeConsumer' | 'closed'
