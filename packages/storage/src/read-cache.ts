// The node-wide read cache: fixed-size blocks of segment files, least recently used evicted
// beyond readCacheBytes. A block read near the end of a growing file is kept with its actual
// length and re-read when a later read needs more of it. Truncation and removal invalidate.

export class ReadCache {
  private readonly capacityBytes: number
  readonly blockBytes: number
  private readonly blocks = new Map<string, Uint8Array>()
  private bytes = 0
  hits = 0
  misses = 0

  constructor (capacityBytes: number, blockBytes: number) {
    this.capacityBytes = capacityBytes
    this.blockBytes = blockBytes
  }

  /** Bytes [position, position + length) of `path`, loading missing blocks with `load(blockStart, blockBytes)`. */
  async read (path: string, position: number, length: number, load: (start: number, length: number) => Promise<Uint8Array>): Promise<Uint8Array> {
    const parts: Uint8Array[] = []
    let cursor = position
    const end = position + length
    while (cursor < end) {
      const blockNo = Math.floor(cursor / this.blockBytes)
      const blockStart = blockNo * this.blockBytes
      const key = `${path}#${blockNo}`
      let block = this.blocks.get(key)
      const want = Math.min(end, blockStart + this.blockBytes) - blockStart
      if (block !== undefined && block.length >= want) {
        this.hits++
        this.blocks.delete(key)
        this.blocks.set(key, block)
      } else {
        this.misses++
        if (block !== undefined) this.drop(key, block)
        block = await load(blockStart, this.blockBytes)
        this.blocks.set(key, block)
        this.bytes += block.length
        this.evict()
      }
      const from = cursor - blockStart
      const to = Math.min(block.length, end - blockStart)
      if (to <= from) break
      parts.push(block.subarray(from, to))
      cursor = blockStart + to
      if (to < this.blockBytes) break
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts)
  }

  /** Forgets cached bytes of `path` at and after `position`. */
  invalidateFrom (path: string, position: number): void {
    const firstBlock = Math.floor(position / this.blockBytes)
    for (const [key, block] of this.blocks) {
      const hash = key.lastIndexOf('#')
      if (key.slice(0, hash) === path && Number(key.slice(hash + 1)) >= firstBlock) this.drop(key, block)
    }
  }

  cachedBytes (): number {
    return this.bytes
  }

  private drop (key: string, block: Uint8Array): void {
    this.blocks.delete(key)
    this.bytes -= block.length
  }

  private evict (): void {
    for (const [key, block] of this.blocks) {
      if (this.bytes <= this.capacityBytes) return
      this.drop(key, block)
    }
  }
}
