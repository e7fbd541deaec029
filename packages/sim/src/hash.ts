// Fast non-cryptographic hashing for the oracles and the trace: entry digests compared across
// replicas and a running digest over every trace line. 53-bit cyrb53 (collisions are
// astronomically unlikely at simulation sizes and would only hide a bug, never invent one).

/** Hash of a byte string, seeded so chained digests differ from plain ones. */
export function hashBytes (bytes: Uint8Array, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed
  let h2 = 0x41c6ce57 ^ seed
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    h1 = Math.imul(h1 ^ b, 2654435761)
    h2 = Math.imul(h2 ^ b, 1597334677)
  }
  return finish(h1, h2)
}

/** Hash of a string (UTF-16 code units). */
export function hashString (text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed
  let h2 = 0x41c6ce57 ^ seed
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  return finish(h1, h2)
}

/** Combines a running digest with the next value (order-sensitive). */
export function chainHash (previous: number, next: number): number {
  return hashString(`${previous}:${next}`, 0x9e3779b9)
}

function finish (a: number, b: number): number {
  let h1 = a
  let h2 = b
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
}
