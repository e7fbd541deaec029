// What the client needs from a transport: dial a node's client protocol by address and get a
// request/push connection, and stop. @blazar/transport's libp2p Transport is one (the default);
// the simulator passes its simulated connections, so the production client runs there too.

/** One client-protocol connection to a node. */
export interface ClientLink {
  /** The node's PeerId (what lookups name leaders by). */
  readonly peer: string
  readonly open: boolean
  request (body: unknown, options?: { signal?: AbortSignal }): Promise<unknown>
  /** Lets the node push `n` more frames. */
  grantPermits (n: number): void
  onPush (listener: (body: unknown) => void): void
  onClose (listener: (error: Error) => void): void
  close (): Promise<void>
}

export interface ClientTransport {
  /** Dials `address` (a multiaddr ending in /p2p/<PeerId> for libp2p). */
  connectClient (address: string): Promise<ClientLink>
  stop (): Promise<void>
}
