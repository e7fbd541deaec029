// Counters of the Pulsar listener, shown in the node's /status under `pulsar`: connections,
// commands served by type, error replies by ServerError code, and connections closed for bad
// input by the wire error's code (garbage, truncation, bad checksum, oversized frames, unknown
// commands, commands before CONNECT).
export class PulsarCounters {
  connectionsOpened = 0
  connectionsClosed = 0
  /** Connections closed because the peer stopped answering PINGs. */
  keepAliveTimeouts = 0
  readonly commands = new Map<string, number>()
  readonly errorReplies = new Map<string, number>()
  readonly badInput = new Map<string, number>()

  command (type: string): void {
    this.commands.set(type, (this.commands.get(type) ?? 0) + 1)
  }

  errorReply (code: string): void {
    this.errorReplies.set(code, (this.errorReplies.get(code) ?? 0) + 1)
  }

  rejected (code: string): void {
    this.badInput.set(code, (this.badInput.get(code) ?? 0) + 1)
  }

  snapshot (): Record<string, unknown> {
    return {
      connectionsOpened: this.connectionsOpened,
      connectionsOpen: this.connectionsOpened - this.connectionsClosed,
      keepAliveTimeouts: this.keepAliveTimeouts,
      commands: Object.fromEntries(this.commands),
      errorReplies: Object.fromEntries(this.errorReplies),
      badInput: Object.fromEntries(this.badInput)
    }
  }
}
