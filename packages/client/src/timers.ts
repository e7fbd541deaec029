// The client's view of time: `now()` and one-shot timers. The client is not a core package, so
// `realTimers` (Date.now + setTimeout, unref'd so an idle client never holds the process) is
// the default; tests pass a manual clock to drive batching delays, receive timeouts and
// negative-ack redelivery deterministically.

export interface TimerHandle {
  cancel (): void
}

export interface Timers {
  now (): number
  /** Calls `fn` once after `delayMs`; `cancel()` before then prevents it. */
  setTimeout (fn: () => void, delayMs: number): TimerHandle
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout (fn, delayMs) {
    const timer = setTimeout(fn, Math.max(0, delayMs))
    timer.unref()
    return { cancel: () => { clearTimeout(timer) } }
  }
}

/** Resolves after `delayMs`, or rejects with the signal's reason once it aborts. */
export function sleep (timers: Timers, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) { reject(signal.reason); return }
    const onAbort = () => { timer.cancel(); reject(signal?.reason) }
    const timer = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, delayMs)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** An AbortSignal that aborts with `reason()` after `delayMs` on `timers` (never, for an infinite delay). */
export function timeoutSignal (timers: Timers, delayMs: number, reason: () => Error): { signal: AbortSignal, cancel: () => void } {
  const controller = new AbortController()
  if (!Number.isFinite(delayMs)) return { signal: controller.signal, cancel: () => {} }
  const timer = timers.setTimeout(() => { controller.abort(reason()) }, delayMs)
  return { signal: controller.signal, cancel: () => { timer.cancel() } }
}
