// Test helpers over a running cluster: wait (bounded) until the cluster status satisfies a
// condition, printing what it last saw on a timeout; read a subscription until every expected
// message ID has arrived (bounded), acknowledging as it goes.
import type { Client, ClusterStatus, Consumer, Message } from '@blazar/client'

const POLL_MS = 250

export async function waitForStatus (client: Client, what: string, check: (status: ClusterStatus) => boolean, waitMs: number): Promise<ClusterStatus> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const status = await client.admin.cluster.status().catch(() => null)
    if (status !== null && check(status)) return status
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting until ${what}: ${JSON.stringify({ moves: status?.moves, leaders: status?.groups.filter((g) => g.role === 'leader') })}`)
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/** Receives until every ID in `expected` was seen or `timeoutMs` passed; answers each ID seen with its payload as text. */
export async function readIds (consumer: Consumer, expected: ReadonlySet<string>, timeoutMs: number): Promise<Map<string, string>> {
  const seen = new Map<string, string>()
  const deadline = Date.now() + timeoutMs
  let missing = expected.size
  while (missing > 0 && Date.now() < deadline) {
    let message: Message
    try {
      message = await consumer.receive(Math.min(5_000, Math.max(1, deadline - Date.now())))
    } catch {
      continue
    }
    const id = message.messageId.toString()
    if (!seen.has(id)) {
      seen.set(id, new TextDecoder().decode(message.data))
      if (expected.has(id)) missing--
    }
    await consumer.acknowledge(message)
  }
  return seen
}
