// The simulator's disk: files in memory with a durable image per file and per directory, and
// the fault model of DESIGN.md §9 / research §2.8 F: unsynced writes lost on crash, a torn last
// write, a flipped bit in synced data, a slow disk (latency on an injected Clock), failing fsync,
// a full disk (ENOSPC).
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
  /** The synced image: its first `durableSize` bytes (the buffer grows like `content`). */
  private durable = new Uint8Array(0)
  private durableSize = 0
  /** The lowest offset written since the last sync (Infinity: none), so a sync copies only what changed. */
  private dirtyFrom = Number.POSITIVE_INFINITY
  pending: PendingWrite[] = []

  bytes (): Uint8Array {
    return this.content.subarray(0, this.size)
  }

  durableBytes (): Uint8Array {
    return this.durable.subarray(0, this.durableSize)
  }

  write (position: number, data: Uint8Array): void {
    const end = position + data.length
    this.content = ensureCapacity(this.content, this.size, end)
    if (position > this.size) this.content.fill(0, this.size, position)
    this.content.set(data, position)
    this.dirtyFrom = Math.min(this.dirtyFrom, position, this.size)
    this.size = Math.max(this.size, end)
  }

  truncate (size: number): void {
    if (size > this.size) this.write(this.size, new Uint8Array(size - this.size))
    this.size = size
  }

  sync (): void {
    if (this.dirtyFrom < this.size) {
      this.durable = ensureCapacity(this.durable, this.durableSize, this.size)
      this.durable.set(this.content.subarray(this.dirtyFrom, this.size), this.dirtyFrom)
    }
    this.durableSize = this.size
    this.dirtyFrom = Number.POSITIVE_INFINITY
    this.pending = []
  }

  resetTo (image: Uint8Array): void {
    this.content = image.slice()
    this.size = image.length
    this.durable = image.slice()
    this.durableSize = image.length
    this.dirtyFrom = Number.POSITIVE_INFINITY
    this.pending = []
  }

  /** Flips one bit at rest: in the current image and, where it is synced, the durable one. */
  flipBit (offset: number, bit: number): void {
    this.content[offset] ^= 1 << bit
    if (offset < this.durableSize) this.durable[offset] ^= 1 << bit
  }
}

/** `buffer` itself when it holds `needed` bytes, else a larger copy of its first `used` bytes. */
function ensureCapacity (buffer: Uint8Array<ArrayBuffer>, used: number, needed: number): Uint8Array<ArrayBuffer> {
  if (needed <= buffer.length) return buffer
  const grown = new Uint8Array(Math.max(needed, buffer.length * 2, 4096))
  grown.set(buffer.subarray(0, used))
  return grown
}

export interface SimDiskOptions {
  /** Clock on which the latency of each operation elapses (needed when latencyMs > 0). */
  clock?: Clock
  /** Source of the choices made by a torn crash. */
  random?: Random
  latencyMs?: number
}

/** What survives a crash: the files and directories, shared by the disk handle of each incarnation. */
class SimState {
  latencyMs: number
  readonly clock: Clock | undefined
  readonly random: Random | undefined
  files = new Map<string, Inode>()
  durableFiles = new Map<string, Inode>()
  dirs = new Set<string>([''])
  durableDirs = new Set<string>([''])
  epoch = 0
  failingSyncs = 0
  full = false
  syncs = 0

  constructor (options: SimDiskOptions) {
    this.clock = options.clock
    this.random = options.random
    this.latencyMs = options.latencyMs ?? 0
  }
}

/**
 * One process's view of a simulated disk. crash() ends this process: every later operation
 * through this handle (or a file it opened) fails, and the returned handle is the restarted
 * process's view of what survived.
 */
export class SimDisk implements Disk {
  private readonly state: SimState
  private readonly epoch: number

  constructor (options: SimDiskOptions | SimState = {}) {
    this.state = options instanceof SimState ? options : new SimState(options)
    this.epoch = this.state.epoch
  }

  /** Latency of every operation, in clock milliseconds (the slow-disk fault). */
  get latencyMs (): number {
    return this.state.latencyMs
  }

  set latencyMs (value: number) {
    this.state.latencyMs = value
  }

  /** A full disk: while set, every write and every growing truncate fails with ENOSPC (nothing is written). */
  get full (): boolean {
    return this.state.full
  }

  set full (value: boolean) {
    this.state.full = value
  }

  /** Makes the next `count` file syncs fail with EIO (and lose the data they should have made durable). */
  failNextSyncs (count = 1): void {
    this.state.failingSyncs += count
  }

  /** Number of successful file and directory syncs so far. */
  syncCount (): number {
    return this.state.syncs
  }

  /** Flips one bit of a file, in its current and its durable image (bit rot at rest). */
  flipBit (path: string, offset: number, bit = 0): void {
    const inode = this.state.files.get(path)
    if (inode === undefined || offset >= inode.size) throw new RangeError(`no byte ${offset} in ${path}`)
    inode.flipBit(offset, bit)
  }

  /** The current bytes of a file (for tests and fault placement). */
  peek (path: string): Uint8Array | undefined {
    return this.state.files.get(path)?.bytes().slice()
  }

  paths (): string[] {
    return [...this.state.files.keys()].sort()
  }

  /** The current directories (for tests: a directory may exist with no file in it). */
  directories (): string[] {
    return [...this.state.dirs].filter((dir) => dir !== '').sort()
  }

  /**
   * Crashes the machine: this handle and every file opened through it stop working; what
   * survives depends on the mode. Returns the disk as the restarted process sees it.
   */
  crash (mode: CrashMode): SimDisk {
    const state = this.state
    state.epoch++
    state.failingSyncs = 0
    if (mode !== 'process') {
      const survivors = new Map<string, Inode>()
      const recovered = new Map<Inode, Inode>()
      for (const [path, inode] of state.durableFiles) {
        // A file whose directory entry never became durable is unreachable after the crash.
        if (!state.durableDirs.has(parentDir(path))) continue
        let after = recovered.get(inode)
        if (after === undefined) {
          after = new Inode()
          after.resetTo(inode.durableBytes())
          if (mode === 'torn') this.applyTornWrite(inode, after)
          after.sync()
          recovered.set(inode, after)
        }
        survivors.set(path, after)
      }
      state.files = survivors
      state.durableFiles = new Map(survivors)
      state.dirs = new Set([...state.durableDirs].filter((dir) => dir === '' || state.durableDirs.has(parentDir(dir))))
    }
    return new SimDisk(state)
  }

  async open (path: string, options: { create: boolean }): Promise<DiskFile> {
    await this.enter()
    let inode = this.state.files.get(path)
    if (inode === undefined) {
      if (!options.create) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
      if (!this.state.dirs.has(parentDir(path))) throw Object.assign(new Error(`ENOENT: directory of ${path}`), { code: 'ENOENT' })
      inode = new Inode()
      this.state.files.set(path, inode)
    }
    return new SimFile(this, path, inode)
  }

  async mkdir (path: string): Promise<void> {
    await this.enter()
    const parts = path.split('/')
    for (let i = 1; i <= parts.length; i++) this.state.dirs.add(parts.slice(0, i).join('/'))
  }

  async list (dir: string): Promise<string[]> {
    await this.enter()
    const names = new Set<string>()
    const prefix = dir === '' ? '' : dir + '/'
    for (const path of [...this.state.files.keys(), ...this.state.dirs]) {
      if (path !== dir && path.startsWith(prefix)) names.add(path.slice(prefix.length).split('/')[0])
    }
    return [...names].sort()
  }

  async remove (path: string): Promise<void> {
    await this.enter()
    this.state.files.delete(path)
  }

  async removeDir (path: string): Promise<void> {
    await this.enter()
    const prefix = path + '/'
    if ([...this.state.files.keys(), ...this.state.dirs].some((name) => name.startsWith(prefix))) {
      throw Object.assign(new Error(`ENOTEMPTY: ${path}`), { code: 'ENOTEMPTY' })
    }
    this.state.dirs.delete(path)
  }

  async rename (from: string, to: string): Promise<void> {
    await this.enter()
    const inode = this.state.files.get(from)
    if (inode === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' })
    this.state.files.delete(from)
    this.state.files.set(to, inode)
  }

  async syncDir (path: string): Promise<void> {
    await this.enter()
    const inDir = (name: string): boolean => parentDir(name) === path
    for (const name of [...this.state.durableFiles.keys()]) if (inDir(name) && !this.state.files.has(name)) this.state.durableFiles.delete(name)
    for (const [name, inode] of this.state.files) if (inDir(name)) this.state.durableFiles.set(name, inode)
    for (const dir of [...this.state.durableDirs]) {
      if (dir === '' || !inDir(dir) || this.state.dirs.has(dir)) continue
      // A removed directory's inode is gone for good: a directory created later under the same
      // name is a new one, and the old one's entries never reappear in it.
      this.state.durableDirs.delete(dir)
      for (const name of [...this.state.durableFiles.keys()]) if (name.startsWith(dir + '/')) this.state.durableFiles.delete(name)
      for (const sub of [...this.state.durableDirs]) if (sub.startsWith(dir + '/')) this.state.durableDirs.delete(sub)
    }
    for (const dir of this.state.dirs) if (dir !== '' && inDir(dir)) this.state.durableDirs.add(dir)
    this.state.syncs++
  }

  /** Waits out the latency. Throws if this process's disk crashed before or meanwhile. */
  async enter (): Promise<void> {
    if (this.epoch !== this.state.epoch) throw new DiskFaultError('the disk crashed; this process is gone')
    if (this.latencyMs > 0) {
      const clock = this.state.clock
      if (clock === undefined) throw new RangeError('a SimDisk with latency needs a clock')
      await new Promise<void>((resolve) => { clock.setTimer(this.latencyMs, resolve) })
    }
    if (this.epoch !== this.state.epoch) throw new DiskFaultError('the disk crashed; this process is gone')
  }

  /** Consumes one injected sync failure, if any. */
  takeSyncFailure (): boolean {
    if (this.state.failingSyncs === 0) return false
    this.state.failingSyncs--
    return true
  }

  countSync (): void {
    this.state.syncs++
  }

  private applyTornWrite (before: Inode, after: Inode): void {
    const last = before.pending.at(-1)
    if (last === undefined) return
    const random = this.state.random
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

  constructor (disk: SimDisk, path: string, inode: Inode) {
    this.disk = disk
    this.path = path
    this.inode = inode
  }

  async size (): Promise<number> {
    await this.disk.enter()
    return this.inode.size
  }

  async read (position: number, length: number): Promise<Uint8Array> {
    await this.disk.enter()
    return this.inode.bytes().slice(position, position + length)
  }

  async write (position: number, data: Uint8Array): Promise<void> {
    await this.disk.enter()
    if (this.disk.full && data.length > 0) throw new DiskFaultError(`ENOSPC: no space left to write ${this.path}`)
    this.inode.write(position, data)
    this.inode.pending.push({ position, data: data.slice() })
  }

  async truncate (size: number): Promise<void> {
    await this.disk.enter()
    if (this.disk.full && size > this.inode.size) throw new DiskFaultError(`ENOSPC: no space left to grow ${this.path}`)
    this.inode.truncate(size)
  }

  async sync (): Promise<void> {
    await this.disk.enter()
    if (this.disk.takeSyncFailure()) {
      // fsyncgate: after a failed fsync the kernel may drop the dirty pages; model the worst case.
      this.inode.resetTo(this.inode.durableBytes())
      throw new DiskFaultError(`EIO: fsync of ${this.path} failed`)
    }
    this.inode.sync()
    this.disk.countSync()
  }

  async close (): Promise<void> {
    await this.disk.enter()
  }
}
