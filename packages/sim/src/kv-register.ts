// The workload's replicated state machine: a map of registers (key -> last written value).
// Besides the values it keeps a running digest over every applied register write, so the
// oracles can compare replicas at equal applied index, and so a restored snapshot is checked
// too (the digest travels inside the snapshot).
import type { LogEntry, SnapshotMeta } from '@blazar/env'
import { chainHash, hashBytes } from './hash.ts'

/** Entry kind of a register write (kind 0 belongs to Raft). */
export const KV_WRITE_KIND = 1

export interface RegisterWrite {
  key: string
  value: string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeWrite (write: RegisterWrite): Uint8Array {
  return encoder.encode(`${write.key}\u0000${write.value}`)
}

export function decodeWrite (data: Uint8Array): RegisterWrite {
  const text = decoder.decode(data)
  const split = text.indexOf('\u0000')
  if (split < 0) throw new Error(`not a register write: ${JSON.stringify(text)}`)
  return { key: text.slice(0, split), value: text.slice(split + 1) }
}

/** Digest of one entry: what the oracles compare between replicas for the same index. */
export function entryDigest (entry: LogEntry): number {
  return hashBytes(entry.data, entry.term * 31 + entry.kind)
}

export class KvRegisterMachine {
  private readonly values = new Map<string, string>()
  private digestValue = 0
  private lastAppliedValue = 0
  /** Called after each applied write with (index, state digest after it). */
  private readonly onApplied: (index: number, stateDigest: number) => void

  constructor (onApplied: (index: number, stateDigest: number) => void = () => {}) {
    this.onApplied = onApplied
  }

  get lastApplied (): number {
    return this.lastAppliedValue
  }

  get digest (): number {
    return this.digestValue
  }

  read (key: string): string | null {
    return this.values.get(key) ?? null
  }

  apply (entry: LogEntry): void {
    if (entry.index <= this.lastAppliedValue) throw new Error(`apply of index ${entry.index} after ${this.lastAppliedValue}`)
    this.lastAppliedValue = entry.index
    if (entry.kind !== KV_WRITE_KIND) return
    const write = decodeWrite(entry.data)
    this.values.set(write.key, write.value)
    this.digestValue = chainHash(this.digestValue, hashBytes(entry.data, entry.index))
    this.onApplied(entry.index, this.digestValue)
  }

  snapshot (): Uint8Array {
    const state = { digest: this.digestValue, lastApplied: this.lastAppliedValue, values: [...this.values] }
    return encoder.encode(JSON.stringify(state))
  }

  restore (data: Uint8Array, meta: SnapshotMeta): void {
    const state = JSON.parse(decoder.decode(data)) as { digest: number, lastApplied: number, values: Array<[string, string]> }
    if (state.lastApplied > meta.index) throw new Error(`snapshot state at ${state.lastApplied} is past its index ${meta.index}`)
    this.values.clear()
    for (const [key, value] of state.values) this.values.set(key, value)
    this.digestValue = state.digest
    this.lastAppliedValue = meta.index
  }
}
