// A tiny validating schema language for everything decoded from untrusted bytes: wire messages,
// log entries, error details. A schema both parses (unknown → typed value, or a
// MalformedMessageError naming the bad field) and gives the TypeScript type via Infer<>.
import { defineError } from './error-base.ts'

export const MalformedMessageError = defineError<{ path: string, reason: string }>({
  name: 'MalformedMessageError',
  code: 'MALFORMED_MESSAGE',
  describe: (d) => `malformed message at ${d.path}: ${d.reason}`,
  parseDetails: (raw) => ({ path: String(raw.path), reason: String(raw.reason) })
})

export interface Schema<T> {
  parse (value: unknown, path?: string): T
}

export type Infer<S> = S extends Schema<infer T> ? T : never

function fail (path: string, reason: string): never {
  throw new MalformedMessageError({ path, reason })
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Any plain object, fields unchecked (validated later by whoever knows their shape). */
export const plainObject: Schema<Record<string, unknown>> = {
  parse (value, path = '$') {
    if (!isPlainObject(value)) fail(path, 'expected an object')
    return value
  }
}

export function string (options: { max: number, min?: number, pattern?: RegExp }): Schema<string> {
  return {
    parse (value, path = '$') {
      if (typeof value !== 'string') fail(path, 'expected a string')
      if (value.length < (options.min ?? 0)) fail(path, `shorter than ${options.min}`)
      if (value.length > options.max) fail(path, `longer than ${options.max}`)
      if (options.pattern !== undefined && !options.pattern.test(value)) fail(path, `does not match ${options.pattern}`)
      return value
    }
  }
}

/** A safe integer in [min, max]. */
export function int (options: { min: number, max: number }): Schema<number> {
  return {
    parse (value, path = '$') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, 'expected a safe integer')
      if (value < options.min || value > options.max) fail(path, `outside [${options.min}, ${options.max}]`)
      return value
    }
  }
}

/** A finite number at or above `min` (rates and other measured values). */
export function number (options: { min: number }): Schema<number> {
  return {
    parse (value, path = '$') {
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'expected a finite number')
      if (value < options.min) fail(path, `below ${options.min}`)
      return value
    }
  }
}

export const boolean: Schema<boolean> = {
  parse (value, path = '$') {
    if (typeof value !== 'boolean') fail(path, 'expected a boolean')
    return value
  }
}

export function bytes (options: { max: number }): Schema<Uint8Array> {
  return {
    parse (value, path = '$') {
      if (!(value instanceof Uint8Array)) fail(path, 'expected bytes')
      if (value.length > options.max) fail(path, `more than ${options.max} bytes`)
      return value
    }
  }
}

export function literal<const V extends string | number | boolean> (...values: V[]): Schema<V> {
  return {
    parse (value, path = '$') {
      if (!values.includes(value as V)) fail(path, `expected one of ${values.join(', ')}`)
      return value as V
    }
  }
}

export function optional<T> (schema: Schema<T>): Schema<T | undefined> & { optional: true } {
  return {
    optional: true,
    parse (value, path = '$') {
      return value === undefined || value === null ? undefined : schema.parse(value, path)
    }
  }
}

export function nullable<T> (schema: Schema<T>): Schema<T | null> {
  return {
    parse (value, path = '$') {
      return value === null || value === undefined ? null : schema.parse(value, path)
    }
  }
}

export function array<T> (item: Schema<T>, options: { max: number }): Schema<T[]> {
  return {
    parse (value, path = '$') {
      if (!Array.isArray(value)) fail(path, 'expected an array')
      if (value.length > options.max) fail(path, `more than ${options.max} items`)
      return value.map((element, i) => item.parse(element, `${path}[${i}]`))
    }
  }
}

export function tuple<A, B> (a: Schema<A>, b: Schema<B>): Schema<[A, B]> {
  return {
    parse (value, path = '$') {
      if (!Array.isArray(value) || value.length !== 2) fail(path, 'expected a pair')
      return [a.parse(value[0], `${path}[0]`), b.parse(value[1], `${path}[1]`)]
    }
  }
}

/** String → string map with bounded size (message properties, policies). */
export function stringMap (options: { maxEntries: number, maxKey: number, maxValue: number }): Schema<Record<string, string>> {
  return {
    parse (value, path = '$') {
      if (!isPlainObject(value)) fail(path, 'expected a map')
      const keys = Object.keys(value)
      if (keys.length > options.maxEntries) fail(path, `more than ${options.maxEntries} entries`)
      const out: Record<string, string> = {}
      for (const key of keys) {
        if (key.length > options.maxKey) fail(`${path}.${key.slice(0, 32)}`, `key longer than ${options.maxKey}`)
        const entry = value[key]
        if (typeof entry !== 'string') fail(`${path}.${key}`, 'expected a string')
        if (entry.length > options.maxValue) fail(`${path}.${key}`, `longer than ${options.maxValue}`)
        out[key] = entry
      }
      return out
    }
  }
}

type Fields = Record<string, Schema<unknown>>
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends { optional: true } ? K : never }[keyof F]
type RequiredKeys<F extends Fields> = Exclude<keyof F, OptionalKeys<F>>
export type ObjectOf<F extends Fields> =
  { [K in RequiredKeys<F>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Infer<F[K]> }

/** An object with exactly these fields; unknown fields are dropped, missing required ones fail. */
export function object<F extends Fields> (fields: F): Schema<ObjectOf<F>> & { fields: F } {
  const entries = Object.entries(fields)
  return {
    fields,
    parse (value, path = '$') {
      if (!isPlainObject(value)) fail(path, 'expected an object')
      const out: Record<string, unknown> = {}
      for (const [key, schema] of entries) {
        const parsed = schema.parse(value[key], `${path}.${key}`)
        if (parsed !== undefined) out[key] = parsed
      }
      return out as ObjectOf<F>
    }
  }
}

/** A union discriminated by the string field `tag`. */
export function union<const Tag extends string, M extends Record<string, Schema<object>>> (
  tag: Tag, members: M
): Schema<{ [K in keyof M]: Infer<M[K]> & { [T in Tag]: K } }[keyof M]> {
  return {
    parse (value, path = '$') {
      if (!isPlainObject(value)) fail(path, 'expected an object')
      const kind = value[tag]
      if (typeof kind !== 'string' || !Object.hasOwn(members, kind)) fail(`${path}.${tag}`, `unknown ${tag}`)
      return { ...members[kind].parse(value, path), [tag]: kind } as never
    }
  }
}
