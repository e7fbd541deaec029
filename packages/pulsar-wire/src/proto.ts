// Loads the Pulsar schema (proto2) into protobufjs and owns the conversion between protobufjs
// messages and Blazar's plain typed objects (src/pulsar-api.ts): 64-bit integers are bigint,
// enums are their names, bytes are Uint8Array. Decoded objects carry every field present on the
// wire, every repeated field (maybe empty) and the proto2 default of an absent field that
// declares one, except the fields in PRESENCE_FIELDS, whose presence itself means something.
// Encoding checks `required` fields, enum names and integer ranges and throws typed errors.
// Each message type is compiled once into a TypePlan, so the per-message work is a loop over
// its fields (batch bodies encode one SingleMessageMetadata per message).
import protobuf from 'protobufjs'
import { InvalidFieldError, MalformedProtobufError, MissingRequiredFieldError } from './errors.ts'
import { PULSAR_API_DESCRIPTOR } from './pulsar-api-descriptor.ts'
import { PRESENCE_FIELDS } from './schema-rules.ts'

/** Deepest message nesting a decoder accepts (MessageIdData nests itself). */
export const MAX_MESSAGE_NESTING = 16

/**
 * The schema, from the descriptor generated out of PulsarApi.proto (so loading needs no file
 * system). Field names are as written there: Pulsar mixes snake_case and camelCase.
 */
export const pulsarRoot: protobuf.Root = protobuf.Root.fromJSON(PULSAR_API_DESCRIPTOR as protobuf.INamespace)
pulsarRoot.resolveAll()

type FieldKind = 'message' | 'enum' | 'long' | 'bytes' | 'string' | 'bool' | 'float' | 'int'

interface FieldPlan {
  readonly name: string
  readonly label: string
  readonly kind: FieldKind
  readonly required: boolean
  readonly repeated: boolean
  /** Signed 64-bit (int64, sint64, sfixed64) as opposed to unsigned. */
  readonly signed: boolean
  readonly min: number
  readonly max: number
  readonly messageType?: protobuf.Type
  readonly enumById?: Readonly<Record<number, string>>
  readonly enumByName?: Readonly<Record<string, number>>
  /** The proto2 default a decoder fills in for an absent field (undefined: none). */
  readonly fill: unknown
}

interface TypePlan {
  readonly type: protobuf.Type
  readonly label: string
  readonly fields: readonly FieldPlan[]
}

const plans = new Map<protobuf.Type, TypePlan>()
const typesByName = new Map<string, protobuf.Type>()

export function messageType (name: string): protobuf.Type {
  let type = typesByName.get(name)
  if (type === undefined) {
    type = pulsarRoot.lookupType(`pulsar.proto.${name}`)
    typesByName.set(name, type)
  }
  return type
}

function planOf (type: protobuf.Type): TypePlan {
  let plan = plans.get(type)
  if (plan !== undefined) return plan
  const label = type.fullName.replace(/^\.pulsar\.proto\./, '')
  plan = { type, label, fields: type.fieldsArray.map((field) => fieldPlan(type, label, field)) }
  plans.set(type, plan)
  return plan
}

function fieldPlan (type: protobuf.Type, typeLabel: string, field: protobuf.Field): FieldPlan {
  const resolved = field.resolvedType
  const kind: FieldKind = resolved instanceof protobuf.Type ? 'message'
    : resolved instanceof protobuf.Enum ? 'enum'
      : field.long ? 'long'
        : field.type === 'bytes' || field.type === 'string' || field.type === 'bool' ? field.type
          : field.type === 'double' || field.type === 'float' ? 'float' : 'int'
  const unsigned = field.type.startsWith('u') || field.type === 'fixed32' || field.type === 'fixed64'
  const declared = field.options?.default as unknown
  const presenceOnly = PRESENCE_FIELDS.has(`${type.fullName.slice(1)}.${field.name}`)
  const plan: FieldPlan = {
    name: field.name,
    label: `${typeLabel}.${field.name}`,
    kind,
    required: field.required,
    repeated: field.repeated,
    signed: !unsigned,
    min: unsigned ? 0 : -(2 ** 31),
    max: unsigned ? 2 ** 32 - 1 : 2 ** 31 - 1,
    fill: declared === undefined || presenceOnly ? undefined : kind === 'long' ? BigInt(declared as number) : declared,
    ...(resolved instanceof protobuf.Type ? { messageType: resolved } : {}),
    ...(resolved instanceof protobuf.Enum ? { enumById: resolved.valuesById, enumByName: resolved.values } : {})
  }
  return plan
}

/** Decodes `bytes` as message `name`; every failure is a MalformedProtobufError or MissingRequiredFieldError. */
export function decodeMessage<T> (name: string, bytes: Uint8Array): T {
  const plan = planOf(messageType(name))
  let decoded: protobuf.Message
  try {
    decoded = plan.type.decode(bytes)
  } catch (error) {
    if (error instanceof protobuf.util.ProtocolError) {
      const field = /missing required '([^']+)'/.exec(error.message)?.[1] ?? '?'
      throw new MissingRequiredFieldError(`${plan.label}.${field}`)
    }
    throw new MalformedProtobufError(plan.label, (error as Error).message)
  }
  return fromProtobuf(plan, decoded as unknown as Record<string, unknown>, 0) as T
}

function fromProtobuf (plan: TypePlan, source: Record<string, unknown>, depth: number): Record<string, unknown> {
  if (depth > MAX_MESSAGE_NESTING) throw new MalformedProtobufError(plan.label, `nested deeper than ${MAX_MESSAGE_NESTING}`)
  const out: Record<string, unknown> = {}
  for (const field of plan.fields) {
    const present = Object.hasOwn(source, field.name)
    if (field.repeated) {
      const values: unknown[] = []
      if (present) {
        for (const v of source[field.name] as unknown[]) {
          const value = fromValue(plan, field, v, depth)
          if (value !== undefined) values.push(value)
        }
      }
      out[field.name] = values
      continue
    }
    const value = present ? fromValue(plan, field, source[field.name], depth) : undefined
    if (value !== undefined) out[field.name] = value
    else if (field.required) throw new MissingRequiredFieldError(field.label)
    else if (field.fill !== undefined) out[field.name] = field.fill
  }
  return out
}

/** A wire value as Blazar sees it; undefined for an enum number this schema does not know (proto2: an unknown field). */
function fromValue (plan: TypePlan, field: FieldPlan, value: unknown, depth: number): unknown {
  switch (field.kind) {
    case 'message': return fromProtobuf(planOf(field.messageType!), value as Record<string, unknown>, depth + 1)
    case 'enum': return field.enumById![value as number]
    case 'long': return longToBigint(value, field.signed)
    case 'bytes': return new Uint8Array(value as Uint8Array)
    default:
      if (value === null || value === undefined) throw new MalformedProtobufError(plan.label, `${field.name} is empty`)
      return value
  }
}

function longToBigint (value: unknown, signed: boolean): bigint {
  if (typeof value === 'number') return BigInt(value)
  const { low, high } = value as { low: number, high: number }
  const bits = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)
  return signed ? BigInt.asIntN(64, bits) : bits
}

/** Encodes a plain object as message `name`; throws MissingRequiredFieldError or InvalidFieldError. */
export function encodeMessage (name: string, value: object): Uint8Array {
  const plan = planOf(messageType(name))
  return plan.type.encode(toProtobuf(plan, value as Record<string, unknown>, 0)).finish()
}

/** The plain object protobufjs encodes: enum numbers, 64-bit values as number or { low, high }. */
function toProtobuf (plan: TypePlan, value: Record<string, unknown>, depth: number): Record<string, unknown> {
  if (depth > MAX_MESSAGE_NESTING) throw new InvalidFieldError(plan.label, `nested deeper than ${MAX_MESSAGE_NESTING}`)
  const out: Record<string, unknown> = {}
  for (const field of plan.fields) {
    const v = value[field.name]
    if (v === undefined || v === null) {
      if (field.required) throw new MissingRequiredFieldError(field.label)
      continue
    }
    if (field.repeated) {
      if (!Array.isArray(v)) throw new InvalidFieldError(field.label, 'not an array')
      out[field.name] = v.map((item: unknown) => toValue(field, item, depth))
    } else {
      out[field.name] = toValue(field, v, depth)
    }
  }
  return out
}

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n }
const UINT64 = { min: 0n, max: 2n ** 64n - 1n }

function toValue (field: FieldPlan, v: unknown, depth: number): unknown {
  switch (field.kind) {
    case 'message':
      if (typeof v !== 'object' || v instanceof Uint8Array) throw new InvalidFieldError(field.label, 'not a message')
      return toProtobuf(planOf(field.messageType!), v as Record<string, unknown>, depth + 1)
    case 'enum': {
      const number = typeof v === 'string' && Object.hasOwn(field.enumByName!, v) ? field.enumByName![v] : undefined
      if (number === undefined) throw new InvalidFieldError(field.label, `not an enum name: ${String(v)}`)
      return number
    }
    case 'long': {
      if (typeof v === 'number' && Number.isSafeInteger(v) && (field.signed || v >= 0)) return v
      if (typeof v !== 'bigint') throw new InvalidFieldError(field.label, `not a ${field.signed ? 'signed' : 'unsigned'} 64-bit integer: ${String(v)}`)
      const range = field.signed ? INT64 : UINT64
      if (v < range.min || v > range.max) throw new InvalidFieldError(field.label, `${v} out of range`)
      const bits = BigInt.asUintN(64, v)
      return { low: Number(bits & 0xffff_ffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: !field.signed }
    }
    case 'string':
      if (typeof v !== 'string') throw new InvalidFieldError(field.label, 'not a string')
      return v
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new InvalidFieldError(field.label, 'not bytes')
      return v
    case 'bool':
      if (typeof v !== 'boolean') throw new InvalidFieldError(field.label, 'not a boolean')
      return v
    case 'float':
      if (typeof v !== 'number') throw new InvalidFieldError(field.label, 'not a number')
      return v
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < field.min || v > field.max) {
        throw new InvalidFieldError(field.label, `not a 32-bit ${field.signed ? 'signed' : 'unsigned'} integer: ${String(v)}`)
      }
      return v
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
