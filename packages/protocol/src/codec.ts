// The one msgpack configuration every Blazar message and log entry uses: plain maps (no
// records, so any msgpack reader can read them), and a decode that turns bad bytes into a
// MalformedMessageError instead of a crash.
import { Packr } from 'msgpackr'
import { MalformedMessageError } from './schema.ts'
import type { Schema } from './schema.ts'

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' })

export function pack (value: unknown): Uint8Array {
  return packr.pack(value)
}

/** Decodes msgpack and validates it with `schema`; any failure is a MalformedMessageError. */
export function unpack<T> (bytes: Uint8Array, schema: Schema<T>, maxBytes: number): T {
  if (bytes.length > maxBytes) throw new MalformedMessageError({ path: '$', reason: `${bytes.length} bytes exceeds ${maxBytes}` })
  let value: unknown
  try {
    value = packr.unpack(bytes)
  } catch (error) {
    throw new MalformedMessageError({ path: '$', reason: `not msgpack: ${(error as Error).message}` })
  }
  return schema.parse(value, '$')
}
