// Types for the two pure-JS compression libraries the codecs use (neither ships its own).
declare module 'lz4js' {
  export function compressBound (size: number): number
  /** Raw LZ4 block; returns the compressed length, 0 when it found nothing to compress. */
  export function compressBlock (src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number
  /** Raw LZ4 block into `dst` from `dIndex`; returns the end index. Unchecked: validate the block first. */
  export function decompressBlock (src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number
}

declare module 'snappyjs' {
  export function compress (data: Uint8Array): Uint8Array
  /** Throws when the declared length exceeds maxLength or the data is corrupt. */
  export function uncompress (data: Uint8Array, maxLength?: number): Uint8Array
}
