// The per-seed event trace: one short line per event (virtual time, node, what happened), a
// running SHA-256 over every line, and optionally the lines themselves (for --trace FILE).
// Two runs of the same seed on the same commit must produce the same digest.
import { createHash, type Hash } from 'node:crypto'

/** Lines kept in memory at most; beyond it the trace keeps hashing but stops storing. */
export const MAX_KEPT_TRACE_LINES = 2_000_000

export class Trace {
  private readonly digest: Hash = createHash('sha256')
  private readonly kept: string[] | null
  private lineCount = 0
  private finished: string | null = null

  constructor (options: { keepLines: boolean }) {
    this.kept = options.keepLines ? [] : null
  }

  record (time: number, line: string): void {
    if (this.finished !== null) throw new Error('trace already finished')
    const text = `${time} ${line}`
    this.digest.update(text)
    this.digest.update('\n')
    this.lineCount++
    if (this.kept !== null && this.kept.length < MAX_KEPT_TRACE_LINES) this.kept.push(text)
  }

  get length (): number {
    return this.lineCount
  }

  lines (): readonly string[] {
    return this.kept ?? []
  }

  /** The digest over every recorded line; recording afterwards is an error. */
  hash (): string {
    if (this.finished === null) this.finished = this.digest.digest('hex')
    return this.finished
  }
}

/** One digest over many per-seed digests, in seed order (the sweep's traceHash). */
export function combineTraceHashes (hashes: readonly string[]): string {
  const digest = createHash('sha256')
  for (const hash of hashes) digest.update(hash)
  return digest.digest('hex')
}
