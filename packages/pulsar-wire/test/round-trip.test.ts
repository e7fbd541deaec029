// Every command kind and the metadata messages survive encode → decode: every field the sender
// set comes back with its value, and decoding is a fixpoint (re-encoding the decoded command
// decodes to the same thing).
import t from 'tap'
import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import protobuf from 'protobufjs'
import { FrameDecoder, decodeMessage, encodeCommand, encodeMessage, type CommandInit } from '../src/index.ts'
import { messageType } from '../src/proto.ts'
import { commandArb, commandTypeArb, messageArb } from './fixtures/arbitraries.ts'

/** Does `decoded` hold every field `sent` set, with an equal value? */
function holds (type: protobuf.Type, sent: Record<string, unknown>, decoded: Record<string, unknown>): boolean {
  return type.fieldsArray.every((field) => {
    const v = sent[field.name]
    if (v === undefined) return true
    const d = decoded[field.name]
    const same = (a: unknown, b: unknown): boolean => field.resolvedType instanceof protobuf.Type
      ? holds(field.resolvedType, a as Record<string, unknown>, b as Record<string, unknown>)
      : field.long ? BigInt(a as bigint) === b : isDeepStrictEqual(field.type === 'bytes' ? [...a as Uint8Array] : a, field.type === 'bytes' ? [...b as Uint8Array] : b)
    if (field.repeated) return Array.isArray(d) && d.length === (v as unknown[]).length && (v as unknown[]).every((x, i) => same(x, d[i]))
    return d !== undefined && same(v, d)
  })
}

const decodeOne = (bytes: Uint8Array) => new FrameDecoder().push(bytes)[0].command

t.test('every command kind round-trips', async () => {
  const base = messageType('BaseCommand')
  fc.assert(fc.property(commandTypeArb.chain((type) => commandArb(type)), (cmd) => {
    if (cmd.type === 'SEND' || cmd.type === 'MESSAGE') return true
    const decoded = decodeOne(encodeCommand(cmd)) as unknown as Record<string, unknown>
    const again = decodeOne(encodeCommand(decoded as unknown as CommandInit))
    return decoded.type === cmd.type && holds(base, cmd as unknown as Record<string, unknown>, decoded) && isDeepStrictEqual(again, decoded)
  }), { numRuns: 1000 })
})

t.test('MessageMetadata and SingleMessageMetadata round-trip', async () => {
  for (const name of ['MessageMetadata', 'SingleMessageMetadata', 'MessageIdData']) {
    const type = messageType(name)
    fc.assert(fc.property(messageArb(type), (value) => {
      const decoded = decodeMessage<Record<string, unknown>>(name, encodeMessage(name, value))
      return holds(type, value, decoded) && isDeepStrictEqual(decodeMessage(name, encodeMessage(name, decoded)), decoded)
    }), { numRuns: 300 })
  }
})
