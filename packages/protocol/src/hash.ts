// MurmurHash3 (x86, 32-bit) over a key's UTF-8 bytes, as Pulsar's `Murmur3_32Hash`: the hash
// Key_Shared dispatch uses to keep each key on one consumer, and that clients may use to route
// keys to partitions. Pure; the same key gives the same hash on every platform.

const encoder = new TextEncoder()

export function murmur3_32 (data: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  let h = seed >>> 0
  const blocks = data.length >> 2
  for (let i = 0; i < blocks; i++) {
    const p = i * 4
    let k = (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) >>> 0
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0
  }
  const tail = blocks * 4
  const remaining = data.length & 3
  if (remaining > 0) {
    let k = 0
    if (remaining === 3) k ^= data[tail + 2] << 16
    if (remaining >= 2) k ^= data[tail + 1] << 8
    k ^= data[tail]
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
  }
  h ^= data.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Pulsar's key hash: Murmur3 32 of the UTF-8 key, made non-negative (`& Integer.MAX_VALUE`). */
export function keyHash (key: string): number {
  return murmur3_32(encoder.encode(key)) & 0x7fffffff
}
