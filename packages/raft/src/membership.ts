// Membership: the configuration in force and its history. A configuration entry takes effect
// as soon as it is appended (thesis §4.1), so the history holds every config entry still in
// the log; truncating the log reverts to the latest config that remains. Config entries are
// kind-0 log entries whose data starts with CONFIG_TAG (an empty kind-0 entry is a no-op).
import type { LogEntry, MembershipConfig, NodeId } from '@blazar/env'

export const RAFT_ENTRY_KIND = 0
const CONFIG_TAG = 1
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeConfig (config: MembershipConfig): Uint8Array {
  const body = encoder.encode(JSON.stringify({ voters: config.voters, learners: config.learners }))
  const data = new Uint8Array(body.length + 1)
  data[0] = CONFIG_TAG
  data.set(body, 1)
  return data
}

export function decodeConfig (entry: LogEntry): MembershipConfig | undefined {
  if (entry.kind !== RAFT_ENTRY_KIND || entry.data.length === 0 || entry.data[0] !== CONFIG_TAG) return undefined
  const parsed = JSON.parse(decoder.decode(entry.data.subarray(1))) as MembershipConfig
  return { voters: [...parsed.voters], learners: [...parsed.learners] }
}

export function quorumSize (voters: readonly NodeId[]): number {
  return Math.floor(voters.length / 2) + 1
}

export function members (config: MembershipConfig): NodeId[] {
  return [...config.voters, ...config.learners]
}

export function cloneConfig (config: MembershipConfig): MembershipConfig {
  return { voters: [...config.voters], learners: [...config.learners] }
}

export class Membership {
  /** Config as of `baseIndex` (a snapshot's, or the bootstrap config at index 0). */
  private base: MembershipConfig
  private baseIndex: number
  /** Config entries above baseIndex, in index order. */
  private readonly history: Array<{ index: number, config: MembershipConfig }> = []

  constructor (base: MembershipConfig, baseIndex: number) {
    this.base = cloneConfig(base)
    this.baseIndex = baseIndex
  }

  current (): MembershipConfig {
    return this.history.length > 0 ? this.history[this.history.length - 1].config : this.base
  }

  /** Index of the latest config entry in the log (baseIndex when none is). */
  latestIndex (): number {
    return this.history.length > 0 ? this.history[this.history.length - 1].index : this.baseIndex
  }

  /** The config in force at `index` (for snapshots taken at that index). */
  at (index: number): MembershipConfig {
    let config = this.base
    for (const item of this.history) {
      if (item.index > index) break
      config = item.config
    }
    return config
  }

  /** Records config entries among newly appended `entries`; returns whether the config changed. */
  onAppend (entries: readonly LogEntry[]): boolean {
    let changed = false
    for (const entry of entries) {
      const config = decodeConfig(entry)
      if (config === undefined) continue
      this.history.push({ index: entry.index, config })
      changed = true
    }
    return changed
  }

  /** Forgets config entries at or above `fromIndex`; returns whether the config changed. */
  onTruncate (fromIndex: number): boolean {
    const before = this.history.length
    while (this.history.length > 0 && this.history[this.history.length - 1].index >= fromIndex) this.history.pop()
    return this.history.length !== before
  }

  /** A snapshot at `index` now covers the log prefix: its config becomes the base. */
  rebase (index: number, config: MembershipConfig, keepSuffix: boolean): void {
    const suffix = keepSuffix ? this.history.filter((item) => item.index > index) : []
    this.history.length = 0
    this.history.push(...suffix)
    this.base = cloneConfig(config)
    this.baseIndex = index
  }
}
