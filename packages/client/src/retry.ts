// Retrying an operation until a deadline: capped exponential backoff between attempts, a
// fresh attempt (the caller looks the topic up again) after each retryable failure, and the
// rule for the final error: the node's own last error when there was one (NOT_LEADER,
// OUTCOME_UNKNOWN, ...), else a TimeoutError naming the operation.
import { BlazarError, TimeoutError } from '@blazar/protocol'
import { isRetryable, type RetryScope } from './errors.ts'
import { sleep, type Timers } from './timers.ts'

export const RETRY_BASE_DELAY_MS = 50
export const RETRY_MAX_DELAY_MS = 1_000

/** Delay before attempt `attempt` (1 = the first retry): base·2^(attempt-1), capped. */
export function retryDelayMs (attempt: number): number {
  return Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1))
}

/** The error an operation fails with once its deadline passed. */
export function finalError (operation: string, timeoutMs: number, lastError: unknown): Error {
  if (lastError instanceof BlazarError && !(lastError instanceof TimeoutError)) return lastError
  const error = new TimeoutError({ operation, timeoutMs })
  if (lastError !== undefined) Object.defineProperty(error, 'cause', { value: lastError })
  return error
}

export interface RetryOptions {
  operation: string
  scope: RetryScope
  timers: Timers
  /** Absolute time (timers.now()) after which no attempt starts. */
  deadline: number
  timeoutMs: number
  /** Stops retrying (the client or producer closed); its reason is thrown. */
  signal?: AbortSignal
}

/** Runs `attempt(remainingMs)` until it succeeds, fails for good, or the deadline passes. */
export async function withRetries<T> (options: RetryOptions, attempt: (remainingMs: number) => Promise<T>): Promise<T> {
  let lastError: unknown
  for (let n = 0; ; n++) {
    options.signal?.throwIfAborted()
    const remaining = options.deadline - options.timers.now()
    if (remaining <= 0) throw finalError(options.operation, options.timeoutMs, lastError)
    if (n > 0) {
      await sleep(options.timers, Math.min(retryDelayMs(n), remaining), options.signal)
      if (options.deadline - options.timers.now() <= 0) throw finalError(options.operation, options.timeoutMs, lastError)
    }
    try {
      return await attempt(options.deadline - options.timers.now())
    } catch (error) {
      // A TimeoutError is the attempt running out of the remaining time: the next turn reports
      // the node's last error, if there was one.
      if (error instanceof TimeoutError) {
        lastError ??= error
        continue
      }
      if (!isRetryable(error, options.scope)) throw error
      lastError = error
    }
  }
}
