// BaseCommand as a discriminated union: `Command` is a decoded command whose `type` names the one
// field it carries (CONNECT → connect, LOOKUP → lookupTopic, ...), `CommandInit` what an encoder
// accepts. Decoding checks that the field the type names is present; fields of other kinds that a
// sender set as well are dropped.
import { MissingRequiredFieldError, UnknownCommandTypeError } from './errors.ts'
import { decodeMessage, encodeMessage, peekVarintField } from './proto.ts'
import { COMMAND_FIELDS, type BaseCommand, type BaseCommandInit, type BaseCommand_Type } from './pulsar-api.ts'

export type CommandType = BaseCommand_Type
export type CommandField<K extends CommandType> = (typeof COMMAND_FIELDS)[K]
/** The message a command of type K carries, e.g. `CommandBody<'SEND'>` is `CommandSend`. */
export type CommandBody<K extends CommandType> = NonNullable<BaseCommand[CommandField<K>]>
export type CommandBodyInit<K extends CommandType> = NonNullable<BaseCommandInit[CommandField<K>]>

export type CommandOf<K extends CommandType> = { type: K } & { [F in CommandField<K>]: CommandBody<K> }
export type CommandInitOf<K extends CommandType> = { type: K } & { [F in CommandField<K>]: CommandBodyInit<K> }
/** A decoded command: switch on `type` and read the field it names. */
export type Command = { [K in CommandType]: CommandOf<K> }[CommandType]
export type CommandInit = { [K in CommandType]: CommandInitOf<K> }[CommandType]

export const COMMAND_TYPES = Object.keys(COMMAND_FIELDS) as CommandType[]

/** The field of BaseCommand that a command of this type carries. */
export function commandField<K extends CommandType> (type: K): CommandField<K> {
  return COMMAND_FIELDS[type]
}

/** Builds a command from its type and body: `command('PONG', {})`. */
export function command<K extends CommandType> (type: K, body: CommandBodyInit<K>): CommandInitOf<K> {
  return { type, [COMMAND_FIELDS[type]]: body } as CommandInitOf<K>
}

/** Reads a command's body with its type: `bodyOf(cmd, 'SEND')`. */
export function bodyOf<K extends CommandType> (cmd: CommandOf<K>, type: K): CommandBody<K> {
  return (cmd as Record<string, unknown>)[COMMAND_FIELDS[type]] as CommandBody<K>
}

export function encodeBaseCommand (cmd: CommandInit): Uint8Array {
  return encodeMessage('BaseCommand', cmd)
}

/** Decodes a BaseCommand; throws UnknownCommandTypeError, MissingRequiredFieldError or MalformedProtobufError. */
export function decodeBaseCommand (bytes: Uint8Array): Command {
  let base: BaseCommand
  try {
    base = decodeMessage<BaseCommand>('BaseCommand', bytes)
  } catch (error) {
    if (error instanceof MissingRequiredFieldError && error.field === 'BaseCommand.type') {
      // An enum number this schema does not know decodes as "absent"; say which number it was.
      const typeNumber = peekVarintField(bytes, 1)
      if (typeNumber !== undefined) throw new UnknownCommandTypeError(typeNumber)
    }
    throw error
  }
  const field = COMMAND_FIELDS[base.type]
  const body = base[field]
  if (body === undefined) throw new MissingRequiredFieldError(`BaseCommand.${field} (for ${base.type})`)
  return { type: base.type, [field]: body } as Command
}
