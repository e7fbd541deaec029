// Test helpers: transports on 127.0.0.1 port 0 in temporary data dirs, stopped in teardown,
// and a bounded wait for a condition that real I/O makes true eventually.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transport } from '../src/index.ts'
import type { TransportOptions } from '../src/index.ts'

export interface Teardown { teardown (fn: () => unknown): void }

export function tempDir (t: Teardown, prefix = 'blazar-transport-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

export async function startTransport (t: Teardown, options: Partial<TransportOptions> = {}): Promise<Transport> {
  const transport = await Transport.start({ dataDir: options.dataDir ?? tempDir(t), ...options })
  t.teardown(async () => { await transport.stop() })
  return transport
}

/** Polls `condition` every 10 ms until it holds; rejects after `timeoutMs` naming `what`. */
export async function waitFor (what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => { setTimeout(resolve, 10) })
  }
}
