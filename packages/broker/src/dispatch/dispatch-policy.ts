// What differs between the subscription types, and nothing else: which consumer takes a batch
// (one active consumer, round robin, key-hash ownership), which batches must keep their order,
// and the few rules Pulsar attaches to a type (cumulative acks, negative acks redelivering
// everything, delayed delivery). The one dispatch mechanism (SubscriptionDispatcher) owns the
// read loop, the cursor, the consumers' permits and unacknowledged batches, redelivery and
// the lifecycle, and asks its policy these questions.
import type { SubscriptionType } from '@blazar/protocol'
import type { StoredBatch } from '../partition/message-cache.ts'
import type { ConsumerRef } from './subscription-lifecycle.ts'
import type { UnackedEntries } from './unacked-entries.ts'

/** One attached consumer as the mechanism keeps it; policies read it, only the mechanism changes it. */
export interface DispatchConsumer {
  readonly ref: ConsumerRef
  permits: number
  readonly unacked: UnackedEntries
}

/**
 * The ordering domain of a batch: a later batch of the same domain is never first-delivered
 * before an earlier one that waits. `null`: no ordering (Shared).
 */
export type OrderKey = number | null

export interface DispatchPolicy {
  readonly type: SubscriptionType
  /** Cumulative acks are allowed (Exclusive, Failover); the others refuse them (Pulsar). */
  readonly cumulativeAcks: boolean
  /** A negative ack redelivers everything unacknowledged (Exclusive, Failover: keeps partition order). */
  readonly redeliversAll: boolean
  /** Batches with a `deliverAtTime` wait for it (Shared, Key_Shared); the others deliver at once, as Pulsar. */
  readonly delaysDelivery: boolean
  /**
   * A new batch no consumer may take now waits in the replay queue and reading goes on (the
   * Key_Shared look-ahead: other keys keep flowing); otherwise reading stops at it.
   */
  readonly parksUndeliverable: boolean
  /** Dispatch waits (Failover: the failover delay after the active consumer changed). */
  readonly onHold: boolean
  /**
   * Consumers came or went (`consumers` in attach order). Returns true when everything
   * unacknowledged must go back to be redelivered (the active consumer changed).
   */
  consumersChanged (consumers: readonly DispatchConsumer[]): boolean
  orderKey (batch: StoredBatch): OrderKey
  /** Whether some consumer could take a batch of `key` now (no side effects). */
  canServe (key: OrderKey): boolean
  /** Whether reading new batches could deliver anything now. */
  canServeAny (): boolean
  /** The consumer that takes a batch of `key` now, or undefined: the batch waits. */
  takerFor (key: OrderKey): DispatchConsumer | undefined
  /** Acknowledgements from this consumer count (Failover: only the active consumer's). */
  mayAcknowledge (consumer: DispatchConsumer): boolean
  /** A batch went out to `consumer`. */
  delivered (index: number, key: OrderKey, consumer: DispatchConsumer): void
  /** A batch is no longer outstanding (acknowledged, or back to be redelivered). */
  released (index: number): void
  /** Key hashes whose batches cannot go to `consumer` now because another consumer still holds some (Key_Shared draining). */
  blockedKeyHashes (consumer: DispatchConsumer): number[]
  /** The consumer receiving now, for single-active types (null otherwise or without consumers). */
  readonly active: ConsumerRef | null
  stop (): void
}

/** What a policy may ask of the mechanism. */
export interface PolicyContext {
  /** A consumer has permits and is under its unacked bound. */
  canTake (consumer: DispatchConsumer): boolean
  /** Dispatch may have become possible (a hold ended). */
  wake (): void
}
