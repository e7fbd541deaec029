// The simulator's disk: files in memory with a durable image per file and per directory, and
// the fault model of DESIGN.md §9 / research §2.8 F: unsynced writes lost on crash, a torn last
// write, a flipped bit in synced data, a slow disk (latency on an injected Clock), failing fsync.
import type { Clock, Random } from '@blazar/env'
import type { Disk, DiskFile } from './disk.ts'
import { parentDir } from './disk.ts'
import { DiskFaultError } from './errors.ts'

/** Torn writes keep whole sectors of this size. */
export const SIM_SECTOR_BYTES = 512

/**
 * How a crash treats data not yet synced: `process` (kill -9: the page cache survives),
 * `power` (every unsynced write, create, rename and remove is lost), `torn` (as power, but the
 * last unsynced write of each file is partly kept, its torn sector possibly garbage).
 */
export type CrashMode = 'process' | 'power' | 'torn'

interface PendingWrite {
  position: number
  data: Uint8Array
}

class Inode {
  content = new Uint8Array(0)
  size = 0
  durable = new Uint8Array(0)
  pending: PendingWrite[] = []

  bytes (): Uint8Array {
    return this.content.subarray(0, this.size)
  }

  write (position: number, data: Uint8Array): void {
    const end = position + data.length
    if (end > this.content.length) {
      const grown = new Uint8Array(Math.max(end, this.content.length * 2, 4096))
      grown.set(this.bytes())
      this.content = grown
    }
    if (position > this.size) this.content.fill(0, this.size, position)
    this.content.set(data, position)
    this.size = Math.max(this.size, end)
  }

  truncate (size: number): void {
    if (size > this.size) this.write(this.size, new Uint8Array(size - this.size))
    this.size = size
  }

  sync (): void {
    this.durable = this.bytes().slice()
    this.pending = []
  }

  resetTo (image: Uint8Array): void {
    this.content = image.slice()
    this.size = image.length
    this.durable = image.slice()
    this.pending = []
  }
}

export interface SimDiskOptions {
  /** Clock on which the latency of each operation elapses (needed when latencyMs > 0). */
  clock?: Clock
  /** Source of the choices made by a torn crash. */
  random?: Random
  latencyMs?: number
}

export class SimDisk implements Disk {
  /** Latency of every operation, in clock milliseconds (the slow-disk fault). */
  latencyMs: number
  private readonly clock: Clock | undefined
  private readonly random: Random | undefined
  private files = new Map<string, Inode>()
  private durableFiles = new Map<string, Inode>()
  private dirs = new Set<string>([''])
  private durableDirs = new Set<string>([''])
  private epoch = 0
  private failingSyncs = 0
  private syncs = 0

  constructor (options: SimDiskOptions = {}) {
    this.clock = options.clock
    this.random = options.random
    this.latencyMs = options.latencyMs ?? 0
  }

  /** Makes the next `count` file syncs fail with EIO (and lose the data they should have made durable). */
  failNextSyncs (count = 1): void {
    this.failingSyncs += count
  }

  /** Number of successful file and directory syncs so far. */
  syncCount (): number {
    return this.syncs
  }

  /** Flips one bit of a file, in its current and its durable image (bit rot at rest). */
  flipBit (path: string, offset: number, bit = 0): void {
    const inode = this.files.get(path)
    if (inode === undefined || offset >= inode.size) throw new RangeError(`no byte ${offset} in ${path}`)
    inode.content[offset] ^= 1 << bit
    if (offset < inode.durable.length) inode.durable[offset] ^= 1 << bit
  }

  /** The current bytes of a file (for tests and fault placement). */
  peek (path: string): Uint8Array | undefined {
    return this.files.get(path)?.bytes().slice()
  }

  paths (): string[] {
    return [...this.files.keys()].sort()
  }

  /** Crashes the machine: every handle opened before becomes unusable; what survives depends on the mode. */
  crash (mode: CrashMode): void {
    this.epoch++
    this.failingSyncs = 0
    if (mode === 'process') return
    const survivors = new Map<string, Inode>()
    const recovered = new Map<Inode, Inode>()
    for (const [path, inode] of this.durableFiles) {
      let after = recovered.get(inode)
      if (after === undefined) {
        after = new Inode()
        after.resetTo(inode.durable)
        if (mode === 'torn') this.applyTornWrite(inode, after)
        after.sync()
        recovered.set(inode, after)
      }
      survivors.set(path, after)
    }
    this.files = survivors
    this.durableFiles = new Map(survivors)
    this.dirs = new Set(this.durableDirs)
  }

  async open (path: string, options: { create: boolean }): Promise<DiskFile> {
    const epoch = await this.enter()
    let inode = this.files.get(path)
    if (inode === undefined) {
      if (!options.create) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
      if (!this.dirs.has(parentDir(path))) throw Object.assign(new Error(`ENOENT: directory of ${path}`), { code: 'ENOENT' })
      inode = new Inode()
      this.files.set(path, inode)
    }
    return new SimFile(this, path, inode, epoch)
  }

  async mkdir (path: string): Promise<void> {
    await this.enter()
    const parts = path.split('/')
    for (let i = 1; i <= parts.length; i++) this.dirs.add(parts.slice(0, i).join('/'))
  }

  async list (dir: string): Promise<string[]> {
    await this.enter()
    const names = new Set<string>()
    const prefix = dir === '' ? '' : dir + '/'
    for (const path of [...this.files.keys(), ...this.dirs]) {
      if (path !== dir && path.startsWith(prefix)) names.add(path.slice(prefix.length).split('/')[0])
    }
    return [...names].sort()
  }

  async remove (path: string): Promise<void> {
    await this.enter()
    this.files.delete(path)
  }

  async removeDir (path: string): Promise<void> {
    await this.enter()
    this.dirs.delete(path)
  }

  async rename (from: string, to: string): Promise<void> {
    await this.enter()
    const inode = this.files.get(from)
    if (inode === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' })
    this.files.delete(from)
    this.files.set(to, inode)
  }

  async syncDir (path: string): Promise<void> {
    await this.enter()
    const inDir = (name: string): boolean => parentDir(name) === path
    for (const name of [...this.durableFiles.keys()]) if (inDir(name) && !this.files.has(name)) this.durableFiles.delete(name)
    for (const [name, inode] of this.files) if (inDir(name)) this.durableFiles.set(name, inode)
    for (const dir of [...this.durableDirs]) if (dir !== '' && inDir(dir) && !this.dirs.has(dir)) this.durableDirs.delete(dir)
    for (const dir of this.dirs) if (dir !== '' && inDir(dir)) this.durableDirs.add(dir)
    this.syncs++
  }

  /** Waits out the latency; returns the epoch the operation belongs to. Throws if the disk crashed meanwhile. */
  async enter (epoch = this.epoch): Promise<number> {
    if (this.latencyMs > 0) {
      const clock = this.clock
      if (clock === undefined) throw new RangeError('a SimDisk with latency needs a clock')
      await new Promise<void>((resolve) => { clock.setTimer(this.latencyMs, resolve) })
    }
    if (epoch !== this.epoch) throw new DiskFaultError('the disk crashed; this handle is gone')
    return epoch
  }

  /** Consumes one injected sync failure, if any. */
  takeSyncFailure (): boolean {
    if (this.failingSyncs === 0) return false
    this.failingSyncs--
    return true
  }

  countSync (): void {
    this.syncs++
  }

  private applyTornWrite (before: Inode, after: Inode): void {
    const last = before.pending.at(-1)
    if (last === undefined) return
    const random = this.random
    if (random === undefined) throw new RangeError('a torn crash needs a SimDisk random source')
    const sectors = Math.ceil(last.data.length / SIM_SECTOR_BYTES)
    const keptSectors = random.int(0, sectors + 1)
    const kept = last.data.slice(0, Math.min(last.data.length, keptSectors * SIM_SECTOR_BYTES))
    if (keptSectors > 0 && random.chance(0.5)) {
      const tornStart = (keptSectors - 1) * SIM_SECTOR_BYTES
      for (let i = tornStart + random.int(0, SIM_SECTOR_BYTES); i < kept.length; i++) kept[i] = random.int(0, 256)
    }
    if (kept.length > 0) after.write(last.position, kept)
  }
}

class SimFile implements DiskFile {
  readonly path: string
  private readonly disk: SimDisk
  private readonly inode: Inode
  private readonly epoch: number

  constructor (disk: SimDisk, path: string, inode: Inode, epoch: number) {
    this.disk = disk
    this.path = path
    this.inode = inode
    this.epoch = epoch
  }

  async size (): Promise<number> {
    await this.disk.enter(this.epoch)
    return this.inode.size
  }

  async read (position: number, length: number): Promise<Uint8Array> {
    await this.disk.enter(this.epoch)
    return this.inode.bytes().slice(position, position + length)
  }

  async write (position: number, data: Uint8Array): Promise<void> {
    await this.disk.enter(this.epoch)
    this.inode.write(position, data)
    this.inode.pending.push({ position, data: data.slice() })
  }

  async truncate (size: number): Promise<void> {
    await this.disk.enter(this.epoch)
    this.inode.truncate(size)
  }

  async sync (): Promise<void> {
    await this.disk.enter(this.epoch)
    if (this.disk.takeSyncFailure()) {
      // fsyncgate: after a failed fsync the kernel may drop the dirty pages; model the worst case.
      this.inode.resetTo(this.inode.durable)
      throw new DiskFaultError(`EIO: fsync of ${this.path} failed`)
    }
    this.inode.sync()
    this.disk.countSync()
  }

  async close (): Promise<void> {
    await this.disk.enter(this.epoch)
  }
}
