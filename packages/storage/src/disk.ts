// The file-system interface every byte of @blazar/storage goes through. Two implementations:
// NodeDisk (node:fs/promises, fdatasync) and SimDisk (in memory, with the simulator's fault
// model). Paths are '/'-separated and relative to the disk's root.

export interface DiskFile {
  readonly path: string
  /** Current size in bytes (including writes not yet synced). */
  size (): Promise<number>
  /** Up to `length` bytes from `position`; shorter at end of file. */
  read (position: number, length: number): Promise<Uint8Array>
  write (position: number, data: Uint8Array): Promise<void>
  truncate (size: number): Promise<void>
  /** Makes this file's data durable (fdatasync). A rejection means the data may be lost: never retry. */
  sync (): Promise<void>
  close (): Promise<void>
}

export interface Disk {
  /** Opens a file for reading and writing; creates it when `create` is set and it is missing. */
  open (path: string, options: { create: boolean }): Promise<DiskFile>
  /** Creates a directory and its parents; no error if it exists. */
  mkdir (path: string): Promise<void>
  /** Names of the entries of a directory; [] if it does not exist. */
  list (dir: string): Promise<string[]>
  /** Removes a file; no error if it is missing. */
  remove (path: string): Promise<void>
  /** Removes an empty directory; no error if it is missing. */
  removeDir (path: string): Promise<void>
  /** Atomically replaces `to` with `from`. */
  rename (from: string, to: string): Promise<void>
  /** Makes the directory's entries (creates, renames, removes) durable. */
  syncDir (path: string): Promise<void>
}

export function joinPath (...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/')
}

export function parentDir (path: string): string {
  const slash = path.lastIndexOf('/')
  return slash < 0 ? '' : path.slice(0, slash)
}
