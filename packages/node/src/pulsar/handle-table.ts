// The client's ids (uint64, chosen by the Pulsar client per connection) of one kind of handle,
// producers or consumers, and the gateway handles they stand for: the one map each way, so a
// push addressed to a gateway handle finds the client's id and a close forgets both at once.
export class HandleTable<S extends { handle: number }> {
  private readonly byClientId = new Map<bigint, S>()
  private readonly clientIds = new Map<number, bigint>()

  get size (): number {
    return this.byClientId.size
  }

  get (clientId: bigint): S | undefined {
    return this.byClientId.get(clientId)
  }

  /** The client's id for gateway handle `handle`, for pushes. */
  clientIdOf (handle: number): bigint | undefined {
    return this.clientIds.get(handle)
  }

  values (): IterableIterator<S> {
    return this.byClientId.values()
  }

  add (clientId: bigint, state: S): S {
    if (this.byClientId.has(clientId) || this.clientIds.has(state.handle)) throw new Error(`handle table: ${clientId} or handle ${state.handle} already present`)
    this.byClientId.set(clientId, state)
    this.clientIds.set(state.handle, clientId)
    return state
  }

  /** Forgets `clientId`; answers what it held. */
  remove (clientId: bigint): S | undefined {
    const state = this.byClientId.get(clientId)
    if (state === undefined) return undefined
    this.byClientId.delete(clientId)
    this.clientIds.delete(state.handle)
    return state
  }
}
