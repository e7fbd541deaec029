// Loads the Pulsar schema (proto2) into protobufjs and owns the conversion between protobufjs
// messages and Blazar's plain typed objects (src/pulsar-api.ts): 64-bit integers are bigint,
// enums are their names, bytes are Uint8Array. Decoded objects carry every field present on the
// wire, every repeated field (maybe empty) and the proto2 default of an absent field that
// declares one, except the fields in PRESENCE_FIELDS, whose presence itself means something.
// Encoding checks `required` fields, enum names and integer ranges and throws typed errors.
import protobuf from 'protobufjs'
import { PULSAR_API_DESCRIPTOR } from './pulsar-api-descriptor.ts'
import { PRESENCE_FIELDS } from './schema-rules.ts'
import { InvalidFieldError, MalformedProtobufError, MissingRequiredFieldError } from './errors.ts'


/** Deepest message nesting a decoder accepts (MessageIdData nests itself). */
export const MAX_MESSAGE_NESTING = 16

/**
 * The schema, from the descriptor generated out of PulsarApi.proto (so loading needs no file
 * system). Field names are as written there: Pulsar mixes snake_case and camelCase.
 */
export const pulsarRoot: protobuf.Root = protobuf.Root.fromJSON(PULSAR_API_DESCRIPTOR as protobuf.INamespace)
pulsarRoot.resolveAll()


export function messageType (name: string): protobuf.Type {
  return pulsarRoot.lookupType(`pulsar.proto.${name}`)
}

const typeLabel = (type: protobuf.Type): string => type.fullName.replace(/^\.pulsar\.proto\./, '')
const fieldLabel = (type: protobuf.Type, field: protobuf.Field): string => `${typeLabel(type)}.${field.name}`
const hasDefault = (type: protobuf.Type, field: protobuf.Field): boolean =>
  field.options?.default !== undefined && !PRESENCE_FIELDS.has(`${type.fullName.slice(1)}.${field.name}`)

/** Decodes `bytes` as message `name`; every failure is a MalformedProtobufError or MissingRequiredFieldError. */
export function decodeMessage<T> (name: string, bytes: Uint8Array): T {
  const type = messageType(name)
  let decoded: protobuf.Message
  try {
    decoded = type.decode(bytes)
  } catch (error) {
    if (error instanceof protobuf.util.ProtocolError) {
      const field = /missing required '([^']+)'/.exec(error.message)?.[1] ?? '?'
      throw new MissingRequiredFieldError(`${typeLabel(type)}.${field}`)
    }
    throw new MalformedProtobufError(typeLabel(type), (error as Error).message)
  }
  return fromProtobuf(type, decoded, 0) as T
}

function fromProtobuf (type: protobuf.Type, message: protobuf.Message | Record<string, unknown>, depth: number): Record<string, unknown> {
  if (depth > MAX_MESSAGE_NESTING) throw new MalformedProtobufError(typeLabel(type), `nested deeper than ${MAX_MESSAGE_NESTING}`)
  const source = message as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const field of type.fieldsArray) {
    if (field.repeated) {
      const values = (Object.hasOwn(source, field.name) ? source[field.name] : []) as unknown[]
      out[field.name] = values.map((v) => fromValue(type, field, v, depth)).filter((v) => v !== undefined)
      continue
    }
    const value = Object.hasOwn(source, field.name) ? fromValue(type, field, source[field.name], depth) : undefined
    if (value !== undefined) out[field.name] = value
    else if (field.required) throw new MissingRequiredFieldError(fieldLabel(type, field))
    else if (hasDefault(type, field)) out[field.name] = defaultOf(field)
  }
  return out
}

/** A wire value as Blazar sees it; undefined for an enum number this schema does not know (proto2: an unknown field). */
function fromValue (type: protobuf.Type, field: protobuf.Field, value: unknown, depth: number): unknown {
  const resolved = field.resolvedType
  if (resolved instanceof protobuf.Type) return fromProtobuf(resolved, value as protobuf.Message, depth + 1)
  if (resolved instanceof protobuf.Enum) return resolved.valuesById[value as number]
  if (field.long) return typeof value === 'number' ? BigInt(value) : BigInt(String(value))
  if (field.type === 'bytes') return new Uint8Array(value as Uint8Array)
  if (value === null || value === undefined) throw new MalformedProtobufError(typeLabel(type), `${field.name} is empty`)
  return value
}

function defaultOf (field: protobuf.Field): unknown {
  const value = field.options?.default as unknown
  if (field.long) return BigInt(value as number)
  return value
}

/** Encodes a plain object as message `name`; throws MissingRequiredFieldError or InvalidFieldError. */
export function encodeMessage (name: string, value: object): Uint8Array {
  const type = messageType(name)
  return type.encode(type.fromObject(toProtobuf(type, value as Record<string, unknown>, 0))).finish()
}

function toProtobuf (type: protobuf.Type, value: Record<string, unknown>, depth: number): Record<string, unknown> {
  if (depth > MAX_MESSAGE_NESTING) throw new InvalidFieldError(typeLabel(type), `nested deeper than ${MAX_MESSAGE_NESTING}`)
  const out: Record<string, unknown> = {}
  for (const field of type.fieldsArray) {
    const v = value[field.name]
    if (v === undefined || v === null) {
      if (field.required) throw new MissingRequiredFieldError(fieldLabel(type, field))
      continue
    }
    if (field.repeated) {
      if (!Array.isArray(v)) throw new InvalidFieldError(fieldLabel(type, field), 'not an array')
      out[field.name] = v.map((item: unknown) => toValue(type, field, item, depth))
    } else {
      out[field.name] = toValue(type, field, v, depth)
    }
  }
  return out
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 }
const UINT32 = { min: 0, max: 2 ** 32 - 1 }
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n }
const UINT64 = { min: 0n, max: 2n ** 64n - 1n }

function toValue (type: protobuf.Type, field: protobuf.Field, v: unknown, depth: number): unknown {
  const label = fieldLabel(type, field)
  const resolved = field.resolvedType
  if (resolved instanceof protobuf.Type) {
    if (typeof v !== 'object') throw new InvalidFieldError(label, 'not a message')
    return toProtobuf(resolved, v as Record<string, unknown>, depth + 1)
  }
  if (resolved instanceof protobuf.Enum) {
    if (typeof v !== 'string' || !Object.hasOwn(resolved.values, v)) throw new InvalidFieldError(label, `not a ${resolved.name} name: ${String(v)}`)
    return v
  }
  if (field.long) {
    if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isSafeInteger(v))) throw new InvalidFieldError(label, 'not an integer')
    const n = BigInt(v)
    const range = field.type.startsWith('u') || field.type === 'fixed64' ? UINT64 : INT64
    if (n < range.min || n > range.max) throw new InvalidFieldError(label, `${n} out of range`)
    return n.toString()
  }
  switch (field.type) {
    case 'string':
      if (typeof v !== 'string') throw new InvalidFieldError(label, 'not a string')
      return v
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new InvalidFieldError(label, 'not bytes')
      return v
    case 'bool':
      if (typeof v !== 'boolean') throw new InvalidFieldError(label, 'not a boolean')
      return v
    case 'double':
    case 'float':
      if (typeof v !== 'number') throw new InvalidFieldError(label, 'not a number')
      return v
    default: {
      const range = field.type.startsWith('u') || field.type === 'fixed32' ? UINT32 : INT32
      if (typeof v !== 'number' || !Number.isInteger(v) || v < range.min || v > range.max) {
        throw new InvalidFieldError(label, `not a ${field.type}: ${String(v)}`)
      }
      return v
    }
  }
}

/** The last value of varint field `fieldNumber` in an encoded message, or undefined (never throws). */
export function peekVarintField (bytes: Uint8Array, fieldNumber: number): number | undefined {
  let found: number | undefined
  try {
    const reader = protobuf.Reader.create(bytes)
    while (reader.pos < reader.len) {
      const tag = reader.uint32()
      if (tag === fieldNumber << 3) found = reader.int32()
      else reader.skipType(tag & 7)
    }
  } catch {
    return found
  }
  return found
}
