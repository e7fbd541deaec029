// The real disk: node:fs/promises under one root directory. sync() is fdatasync(2); directory
// durability is fsync(2) on the directory.
import { open, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Disk, DiskFile } from './disk.ts'

class NodeFile implements DiskFile {
  readonly path: string
  private readonly handle: FileHandle

  constructor (path: string, handle: FileHandle) {
    this.path = path
    this.handle = handle
  }

  async size (): Promise<number> {
    return (await this.handle.stat()).size
  }

  async read (position: number, length: number): Promise<Uint8Array> {
    const buffer = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, position + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return filled === length ? buffer : buffer.subarray(0, filled)
  }

  async write (position: number, data: Uint8Array): Promise<void> {
    let written = 0
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, position + written)
      written += bytesWritten
    }
  }

  async truncate (size: number): Promise<void> {
    await this.handle.truncate(size)
  }

  async sync (): Promise<void> {
    await this.handle.datasync()
  }

  async close (): Promise<void> {
    await this.handle.close()
  }
}

export class NodeDisk implements Disk {
  readonly root: string

  constructor (root: string) {
    this.root = root
  }

  async open (path: string, options: { create: boolean }): Promise<DiskFile> {
    try {
      return new NodeFile(path, await open(this.resolve(path), 'r+'))
    } catch (error) {
      if (!options.create || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      return new NodeFile(path, await open(this.resolve(path), 'w+'))
    }
  }

  async mkdir (path: string): Promise<void> {
    await mkdir(this.resolve(path), { recursive: true })
  }

  async list (dir: string): Promise<string[]> {
    try {
      return await readdir(this.resolve(dir))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
  }

  async remove (path: string): Promise<void> {
    await rm(this.resolve(path), { force: true })
  }

  async removeDir (path: string): Promise<void> {
    try {
      await rmdir(this.resolve(path))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }

  async rename (from: string, to: string): Promise<void> {
    await rename(this.resolve(from), this.resolve(to))
  }

  async syncDir (path: string): Promise<void> {
    const handle = await open(this.resolve(path), 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }

  private resolve (path: string): string {
    return path === '' ? this.root : join(this.root, path)
  }
}
