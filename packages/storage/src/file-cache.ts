// Open segment files, node-wide, bounded by maxOpenFiles: the least recently used idle file is
// closed when the bound is passed. A file in use (an operation awaiting on it) is never closed.
import type { Disk, DiskFile } from './disk.ts'

interface OpenFile {
  file: Promise<DiskFile>
  users: number
}

export class FileCache {
  private readonly disk: Disk
  private readonly maxOpenFiles: number
  private readonly open = new Map<string, OpenFile>()

  constructor (disk: Disk, maxOpenFiles: number) {
    this.disk = disk
    this.maxOpenFiles = maxOpenFiles
  }

  /** Runs `use` with the file at `path` open (created first if `create`). */
  async with<T> (path: string, create: boolean, use: (file: DiskFile) => Promise<T>): Promise<T> {
    let entry = this.open.get(path)
    if (entry === undefined) {
      entry = { file: this.disk.open(path, { create }), users: 0 }
      this.open.set(path, entry)
      entry.file.catch(() => { if (this.open.get(path) === entry) this.open.delete(path) })
    } else {
      this.open.delete(path)
      this.open.set(path, entry)
    }
    entry.users++
    try {
      return await use(await entry.file)
    } finally {
      entry.users--
      await this.evict()
    }
  }

  /** Closes and forgets a file (before it is removed or renamed). */
  async forget (path: string): Promise<void> {
    const entry = this.open.get(path)
    if (entry === undefined) return
    this.open.delete(path)
    await (await entry.file).close()
  }

  async closeAll (): Promise<void> {
    const entries = [...this.open.values()]
    this.open.clear()
    await Promise.allSettled(entries.map(async (entry) => { await (await entry.file).close() }))
  }

  size (): number {
    return this.open.size
  }

  private async evict (): Promise<void> {
    if (this.open.size <= this.maxOpenFiles) return
    for (const [path, entry] of this.open) {
      if (this.open.size <= this.maxOpenFiles) return
      if (entry.users > 0) continue
      this.open.delete(path)
      await (await entry.file).close()
    }
  }
}
