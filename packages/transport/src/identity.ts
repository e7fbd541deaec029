// Node identity: an Ed25519 key kept in the data dir (mode 0600), created on first start and
// reused afterwards. Its PeerId string is the node's NodeId everywhere.
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { IdentityError } from './errors.ts'

export const IDENTITY_FILE = 'node.key'

export interface NodeIdentity {
  privateKey: PrivateKey
  /** The PeerId string: the node's NodeId. */
  id: string
  /** Whether the key was created by this call (first start). */
  created: boolean
}

/** A fresh identity kept nowhere: for clients, whose PeerId does not need to survive a restart. */
export async function ephemeralIdentity (): Promise<NodeIdentity> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, id: peerIdFromPrivateKey(privateKey).toString(), created: true }
}

export async function loadOrCreateIdentity (dataDir: string): Promise<NodeIdentity> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, IDENTITY_FILE)
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new IdentityError(`cannot read ${path}`, { cause: err })
  }
  if (bytes === undefined) {
    const privateKey = await generateKeyPair('Ed25519')
    try {
      // 'wx': never overwrite a key another process created meanwhile.
      await writeFile(path, privateKeyToProtobuf(privateKey), { mode: 0o600, flag: 'wx' })
    } catch (err) {
      throw new IdentityError(`cannot create ${path}`, { cause: err })
    }
    return { privateKey, id: peerIdFromPrivateKey(privateKey).toString(), created: true }
  }
  let privateKey: PrivateKey
  try {
    privateKey = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new IdentityError(`${path} does not hold a private key; refusing to replace it`, { cause: err })
  }
  if (privateKey.type !== 'Ed25519') throw new IdentityError(`${path} holds a ${privateKey.type} key, expected Ed25519`)
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600)
  return { privateKey, id: peerIdFromPrivateKey(privateKey).toString(), created: false }
}
