// What the crash test's worker writes, derived from (group, index) alone so the parent can check
// every entry it reads back.
import type { LogEntry } from '@blazar/env'

export const crashSettings = { segmentBytes: 32 * 1024, checkpointJournalBytes: 256 * 1024, directWriteBytes: 4096, sparseIndexBytes: 4096 }

export function crashEntry (group: string, index: number): LogEntry {
  let hash = index * 2654435761
  for (let i = 0; i < group.length; i++) hash = Math.imul(hash ^ group.charCodeAt(i), 16777619)
  const size = (hash >>> 0) % 9 === 0 ? 3000 + ((hash >>> 8) % 2000) : (hash >>> 0) % 400
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (hash + i * 31) & 0xff
  return { index, term: 1 + Math.floor(index / 97), kind: 1, data }
}
