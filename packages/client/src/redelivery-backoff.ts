// Pulsar's RedeliveryBackoff: the delay before a negatively acknowledged (or timed-out)
// message is redelivered, as a function of how often it was redelivered already. The
// multiplier backoff has Pulsar's MultiplierRedeliveryBackoff defaults (10 s, doubling,
// capped at 10 min).
import { InvalidArgumentError } from '@blazar/protocol'

export interface RedeliveryBackoff {
  /** The delay (ms) before redelivering a message already redelivered `redeliveryCount` times. */
  next (redeliveryCount: number): number
}

export interface MultiplierRedeliveryBackoffOptions {
  minDelayMs?: number
  maxDelayMs?: number
  multiplier?: number
}

export const DEFAULT_BACKOFF_MIN_DELAY_MS = 10_000
export const DEFAULT_BACKOFF_MAX_DELAY_MS = 600_000
export const DEFAULT_BACKOFF_MULTIPLIER = 2

/** minDelayMs × multiplier^redeliveryCount, at most maxDelayMs. */
export function multiplierRedeliveryBackoff (options: MultiplierRedeliveryBackoffOptions = {}): RedeliveryBackoff {
  const minDelayMs = options.minDelayMs ?? DEFAULT_BACKOFF_MIN_DELAY_MS
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_BACKOFF_MAX_DELAY_MS
  const multiplier = options.multiplier ?? DEFAULT_BACKOFF_MULTIPLIER
  if (!Number.isSafeInteger(minDelayMs) || minDelayMs < 0) throw new InvalidArgumentError({ argument: 'minDelayMs', reason: 'must be a non-negative integer' })
  if (!Number.isSafeInteger(maxDelayMs) || maxDelayMs < minDelayMs) throw new InvalidArgumentError({ argument: 'maxDelayMs', reason: 'must be an integer >= minDelayMs' })
  if (!Number.isFinite(multiplier) || multiplier <= 1) throw new InvalidArgumentError({ argument: 'multiplier', reason: 'must be > 1' })
  return {
    next (redeliveryCount: number): number {
      if (redeliveryCount <= 0) return minDelayMs
      return Math.min(maxDelayMs, Math.floor(minDelayMs * multiplier ** Math.min(redeliveryCount, 64)))
    }
  }
}

/** The constant delay used without a backoff (negativeAckRedeliveryDelayMs). */
export function constantRedeliveryDelay (delayMs: number): RedeliveryBackoff {
  return { next: () => delayMs }
}
