// A Disk that times every file sync (fdatasync) for the fsync-latency histogram, by kind:
// the journal (one fsync per round for all groups) or anything else (segments, snapshots,
// checkpoints). Delegates everything else unchanged.
import type { Disk, DiskFile } from '@blazar/storage'

export type SyncObserver = (kind: 'journal' | 'other', seconds: number) => void

export class TimedDisk implements Disk {
  private readonly inner: Disk
  private readonly observe: SyncObserver

  constructor (inner: Disk, observe: SyncObserver) {
    this.inner = inner
    this.observe = observe
  }

  async open (path: string, options: { create: boolean }): Promise<DiskFile> {
    const file = await this.inner.open(path, options)
    const kind = path.startsWith('journal/') ? 'journal' : 'other'
    const observe = this.observe
    return {
      path: file.path,
      size: () => file.size(),
      read: (position, length) => file.read(position, length),
      write: (position, data) => file.write(position, data),
      truncate: (size) => file.truncate(size),
      close: () => file.close(),
      async sync () {
        const started = performance.now()
        await file.sync()
        observe(kind, (performance.now() - started) / 1000)
      }
    }
  }

  mkdir (path: string): Promise<void> { return this.inner.mkdir(path) }
  list (dir: string): Promise<string[]> { return this.inner.list(dir) }
  remove (path: string): Promise<void> { return this.inner.remove(path) }
  removeDir (path: string): Promise<void> { return this.inner.removeDir(path) }
  rename (from: string, to: string): Promise<void> { return this.inner.rename(from, to) }
  syncDir (path: string): Promise<void> { return this.inner.syncDir(path) }
}
