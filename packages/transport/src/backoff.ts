// Reconnect delays: capped exponential backoff with "equal jitter" (half fixed, half random),
// so a restarted node is not hit by every peer at the same instant, and a flapping one is not
// hammered. Pure: the random draw comes from the caller.

/** Delay before reconnect attempt number `attempt` (0 = first retry), in ms. `random` is in [0, 1). */
export function reconnectDelayMs (attempt: number, baseMs: number, maxMs: number, random: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.round(ceiling / 2 + (ceiling / 2) * random)
}
