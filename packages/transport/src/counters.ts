// The transport's counters: every drop, rejection and stream failure is counted here, never
// silent. Hosts read a snapshot (e.g. for /metrics); tests assert on it.

export const counterNames = [
  'framesMalformed', 'framesOversized', 'framesTruncated', 'streamErrors',
  'raftStreamsRejected', 'raftStreamsAccepted', 'raftFramesSent', 'raftBytesSent', 'raftMessagesSent', 'raftMessagesReceived',
  'raftMessagesDroppedQueueFull', 'raftMessagesDroppedOversized', 'raftMessagesDroppedUnreachable',
  'raftReceiveErrors', 'raftDialFailures', 'raftConnects', 'nodeHeartbeatsSent',
  'clientRequestsServed', 'clientRequestsFailed', 'clientPushesSent',
  'joinsAccepted', 'joinsRefused'
] as const

export type CounterName = typeof counterNames[number]
export type CounterSnapshot = Record<CounterName, number>

export class TransportCounters {
  private readonly values = new Map<CounterName, number>(counterNames.map((name) => [name, 0]))

  add (name: CounterName, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n)
  }

  /** Counts a stream that was closed because of `error`, under the counter for its code. */
  addStreamError (error: unknown): void {
    const code = (error as { code?: unknown }).code
    if (code === 'FRAME_MALFORMED') this.add('framesMalformed')
    else if (code === 'FRAME_TOO_LARGE') this.add('framesOversized')
    else if (code === 'FRAME_TRUNCATED') this.add('framesTruncated')
    else this.add('streamErrors')
  }

  snapshot (): CounterSnapshot {
    return Object.fromEntries(this.values) as CounterSnapshot
  }
}
