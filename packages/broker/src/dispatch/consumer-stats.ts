// What a dispatcher reports about each consumer it serves, for admin stats (Pulsar's
// ConsumerStats fields): the flow permits it holds, what it has not acknowledged, and whether
// dispatch to it stopped because it reached its unacknowledged-messages bound.
export interface ConsumerDispatchStats {
  /** The node-wide id the replica knows the consumer by. */
  consumerId: number
  consumerName: string
  availablePermits: number
  unackedMessages: number
  blockedConsumerOnUnackedMsgs: boolean
}
