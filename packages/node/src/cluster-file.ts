// `<dataDir>/cluster.json`: what a node must know before its metadata replica has caught up.
// The metadata group's bootstrap voters (the same on every restart of the founding node, as
// Raft requires) and the last known members with their addresses, so a restarted node can
// reach its peers (and let them through the allowlist) before it has applied any metadata.
// Written atomically: temp file, fsync, rename, fsync of the directory. One ClusterFileWriter
// per data dir owns the file: writes never overlap (two at once shared the temp file and one
// rename failed with ENOENT, issue 15 bug 5) and the last state saved is the one on disk.
import { open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'

export const CLUSTER_FILE = 'cluster.json'

export interface ClusterFile {
  /** Set on the node that created the cluster (--init). */
  bootstrapVoters: string[] | null
  members: Array<{ id: string, addresses: string[] }>
}

export async function readClusterFile (dataDir: string): Promise<ClusterFile | null> {
  let text: string
  try {
    text = await readFile(join(dataDir, CLUSTER_FILE), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  const parsed = JSON.parse(text) as Partial<ClusterFile>
  if (!Array.isArray(parsed.members)) throw new Error(`${join(dataDir, CLUSTER_FILE)} is not a cluster file`)
  return { bootstrapVoters: parsed.bootstrapVoters ?? null, members: parsed.members }
}

/** Serialises the writes of one data dir's cluster.json; states saved while a write runs coalesce into one more write. */
export class ClusterFileWriter {
  private readonly dataDir: string
  private next: ClusterFile | undefined
  private writing: Promise<void> | undefined

  constructor (dataDir: string) {
    this.dataDir = dataDir
  }

  /** Resolves once `file` (or a state saved after it) is durable; rejects if that write failed. */
  save (file: ClusterFile): Promise<void> {
    this.next = file
    this.writing ??= this.writeQueued()
    return this.writing
  }

  private async writeQueued (): Promise<void> {
    try {
      while (this.next !== undefined) {
        const file = this.next
        this.next = undefined
        await writeClusterFile(this.dataDir, file)
      }
    } finally {
      this.writing = undefined
    }
  }
}

async function writeClusterFile (dataDir: string, file: ClusterFile): Promise<void> {
  const path = join(dataDir, CLUSTER_FILE)
  const temporary = `${path}.tmp`
  const handle = await open(temporary, 'w', 0o600)
  try {
    await handle.writeFile(JSON.stringify(file, null, 2) + '\n')
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, path)
  const directory = await open(dataDir, 'r')
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}
