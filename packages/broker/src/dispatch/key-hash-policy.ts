// Key_Shared with Pulsar 4's contract (PIP-379, AUTO_SPLIT with consistent hashing): a batch
// goes to the consumer owning its key's Murmur3 hash on the ring, and the batches of one key
// hash are outstanding at only one consumer at a time. When consumers come and go, a hash whose
// owner changed is "draining": its batches wait until the old owner has acknowledged (or lost)
// what it holds. Each key keeps its order (the hash is the ordering domain), and batches that
// must wait are parked so other keys keep flowing. Producers must batch by key (Pulsar's
// key-based batcher): a batch's key is its envelope key; keyless batches hash `NONE_KEY`.
import { keyHash } from '@blazar/protocol'
import type { StoredBatch } from '../partition/message-cache.ts'
import { assert } from '../state-machine.ts'
import type { DispatchConsumer, DispatchPolicy, OrderKey, PolicyContext } from './dispatch-policy.ts'
import { HashRing, NONE_KEY_HASH } from './hash-ring.ts'

export function batchKeyHash (batch: StoredBatch): number {
  return batch.envelope.key === undefined ? NONE_KEY_HASH : keyHash(batch.envelope.key)
}

export class KeyHashPolicy implements DispatchPolicy {
  readonly type = 'Key_Shared'
  readonly cumulativeAcks = false
  readonly redeliversAll = false
  readonly delaysDelivery = true
  readonly parksUndeliverable = true
  readonly onHold = false
  readonly active = null
  private readonly context: PolicyContext
  private readonly ring = new HashRing()
  private consumers = new Map<number, DispatchConsumer>()
  /** Key hash → the consumer holding its outstanding batches, and how many. */
  private readonly outstanding = new Map<number, { consumer: DispatchConsumer, batches: number }>()
  /** Outstanding batch index → its key hash. */
  private readonly hashOfOutstanding = new Map<number, number>()

  constructor (context: PolicyContext) {
    this.context = context
  }

  /** The consumer a key's batches go to now (undefined without consumers). */
  ownerOf (key: string | undefined): number | undefined {
    return this.ring.owner(key === undefined ? NONE_KEY_HASH : keyHash(key))
  }

  consumersChanged (consumers: readonly DispatchConsumer[]): boolean {
    this.consumers = new Map(consumers.map((consumer) => [consumer.ref.consumerId, consumer]))
    this.ring.rebuild(consumers.map((consumer) => consumer.ref))
    return false
  }

  orderKey (batch: StoredBatch): OrderKey {
    return batchKeyHash(batch)
  }

  canServe (key: OrderKey): boolean {
    return this.takerFor(key) !== undefined
  }

  canServeAny (): boolean {
    for (const consumer of this.consumers.values()) if (consumer.permits > 0) return true
    return false
  }

  takerFor (key: OrderKey): DispatchConsumer | undefined {
    assert(key !== null, 'Key_Shared batches always have a key hash')
    const ownerId = this.ring.owner(key)
    if (ownerId === undefined) return undefined
    const holder = this.outstanding.get(key)
    const owner = this.consumers.get(ownerId)!
    if (holder !== undefined && holder.consumer !== owner) return undefined
    return this.context.canTake(owner) ? owner : undefined
  }

  mayAcknowledge (): boolean {
    return true
  }

  delivered (index: number, key: OrderKey, consumer: DispatchConsumer): void {
    assert(key !== null, 'Key_Shared batches always have a key hash')
    const holder = this.outstanding.get(key)
    assert(holder === undefined || holder.consumer === consumer, `hash ${key} outstanding at two consumers`)
    this.hashOfOutstanding.set(index, key)
    this.outstanding.set(key, { consumer, batches: (holder?.batches ?? 0) + 1 })
  }

  released (index: number): void {
    const hash = this.hashOfOutstanding.get(index)
    assert(hash !== undefined, `released batch ${index} was not outstanding`)
    this.hashOfOutstanding.delete(index)
    const entry = this.outstanding.get(hash)!
    if (--entry.batches === 0) this.outstanding.delete(hash)
  }

  blockedKeyHashes (consumer: DispatchConsumer): number[] {
    const blocked: number[] = []
    for (const [hash, holder] of this.outstanding) {
      if (holder.consumer !== consumer && this.ring.owner(hash) === consumer.ref.consumerId) blocked.push(hash)
    }
    return blocked.sort((a, b) => a - b)
  }

  stop (): void {}
}
