// The two errors only the client raises (everything else comes from @blazar/protocol), and the
// one place that decides which failures are worth a fresh lookup and another attempt.
import {
  BackpressureError, BlazarError, ConsumerBusyError, ConsumerClosedError, MetadataUnavailableError, NotLeaderError, OutOfOrderSequenceError, OutcomeUnknownError,
  ProducerBusyError,
  ProducerClosedError, defineError, schema
} from '@blazar/protocol'

export const ClientClosedError = defineError<{ operation: string }>({
  name: 'ClientClosedError', code: 'CLIENT_CLOSED',
  describe: (d) => `${d.operation}: the client is closed`,
  parseDetails: (raw) => schema.object({ operation: schema.string({ max: 4096 }) }).parse(raw, '$.details')
})

export const ConnectionFailedError = defineError<{ addresses: number, reason: string }>({
  name: 'ConnectionFailedError', code: 'CONNECTION_FAILED',
  describe: (d) => `could not connect to any of ${d.addresses} node address(es): ${d.reason}`,
  parseDetails: (raw) => schema.object({
    addresses: schema.int({ min: 0, max: 1_000_000 }), reason: schema.string({ max: 4096 })
  }).parse(raw, '$.details')
})

/** Transport failures that mean "this connection or node failed", not "the request is wrong". */
const RETRYABLE_TRANSPORT_CODES = new Set([
  'STREAM_CLOSED', 'REMOTE_REQUEST_FAILED', 'TOO_MANY_INFLIGHT_REQUESTS', 'TRANSPORT_STOPPED', 'PROTOCOL_VIOLATION'
])

/**
 * What is being retried: `send` (a batch with fixed sequence ids), `attach` (the first
 * create-producer / subscribe), `reattach` (after a failover), `read` (lookup, stats, lists),
 * `admin-write`.
 */
export type RetryScope = 'send' | 'attach' | 'reattach' | 'read' | 'admin-write'

/**
 * Whether `error` warrants a fresh lookup and another attempt. NOT_LEADER, BACKPRESSURE (a full
 * proposal or storage queue refused it before anything was appended; the retry backs off) and
 * METADATA_UNAVAILABLE (the node could not read the metadata yet) always do, and so does a
 * failed connection or dial. OUTCOME_UNKNOWN does except for admin writes, which are
 * not idempotent (the caller sees it). A send also retries on PRODUCER_CLOSED (the node
 * dropped the handle: attach again, resend) and OUT_OF_ORDER_SEQUENCE (an earlier batch was
 * not stored yet: resend in order). Attaching retries on PRODUCER_CLOSED /
 * CONSUMER_CLOSED (the node closed the new handle at once: leadership moved); re-attaching
 * after a failover also on PRODUCER_BUSY / CONSUMER_BUSY (the old leader's registration may
 * linger).
 */
export function isRetryable (error: unknown, scope: RetryScope): boolean {
  if (error instanceof BlazarError) {
    const code = error.code
    if (code === NotLeaderError.code || code === BackpressureError.code || code === MetadataUnavailableError.code) return true
    if (code === OutcomeUnknownError.code) return scope !== 'admin-write'
    const handleDropped = code === ProducerClosedError.code || code === ConsumerClosedError.code
    if (scope === 'send') return code === ProducerClosedError.code || code === OutOfOrderSequenceError.code
    if (scope === 'attach') return handleDropped
    if (scope === 'reattach') return handleDropped || code === ProducerBusyError.code || code === ConsumerBusyError.code
    return false
  }
  if (!(error instanceof Error)) return false
  if (error.name === 'AbortError' || error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && code.length > 0) return RETRYABLE_TRANSPORT_CODES.has(code) || /^E[A-Z]+$/.test(code)
  // libp2p dial failures (DialError, NoValidAddressesError, ...) carry no code.
  return true
}
