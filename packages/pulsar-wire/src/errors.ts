// Typed errors of the Pulsar wire layer. Every kind of bad input has its own class with a
// stable `name` and `code`; a connection that sees one of them closes (the stream can no
// longer be trusted), logs the message and counts the code.

export type PulsarWireErrorCode =
  | 'TRUNCATED_FRAME' | 'FRAME_TOO_LARGE' | 'BAD_FRAME_SIZE' | 'BAD_MAGIC' | 'CHECKSUM_MISMATCH'
  | 'MALFORMED_PROTOBUF' | 'MISSING_REQUIRED_FIELD' | 'UNKNOWN_COMMAND_TYPE' | 'INVALID_FIELD'

export abstract class PulsarWireError extends Error {
  abstract readonly code: PulsarWireErrorCode
}

/** The stream ended inside a frame, or a frame's sections do not fit its declared size. */
export class TruncatedFrameError extends PulsarWireError {
  readonly code = 'TRUNCATED_FRAME'
  override readonly name = 'TruncatedFrameError'
}

/** A frame's declared size exceeds the decoder's maxFrameSize. */
export class FrameTooLargeError extends PulsarWireError {
  readonly code = 'FRAME_TOO_LARGE'
  override readonly name = 'FrameTooLargeError'
  readonly size: number
  readonly maxFrameSize: number
  constructor (size: number, maxFrameSize: number) {
    super(`frame of ${size} bytes exceeds maxFrameSize ${maxFrameSize}`)
    this.size = size
    this.maxFrameSize = maxFrameSize
  }
}

/** A size field that cannot be right (a command larger than its frame, an empty frame). */
export class BadFrameSizeError extends PulsarWireError {
  readonly code = 'BAD_FRAME_SIZE'
  override readonly name = 'BadFrameSizeError'
}

/** The bytes after a command are neither the payload magic 0x0e01 nor broker-entry metadata 0x0e02. */
export class BadMagicError extends PulsarWireError {
  readonly code = 'BAD_MAGIC'
  override readonly name = 'BadMagicError'
  readonly magic: number
  constructor (magic: number) {
    super(`bad magic 0x${magic.toString(16).padStart(4, '0')} (expected 0x0e01)`)
    this.magic = magic
  }
}

/** The CRC32C of metadata + payload differs from the frame's checksum. */
export class ChecksumMismatchError extends PulsarWireError {
  readonly code = 'CHECKSUM_MISMATCH'
  override readonly name = 'ChecksumMismatchError'
  readonly expected: number
  readonly actual: number
  constructor (expected: number, actual: number) {
    super(`checksum mismatch: frame says 0x${expected.toString(16)}, computed 0x${actual.toString(16)}`)
    this.expected = expected
    this.actual = actual
  }
}

/** Bytes that are not a valid protobuf encoding of the expected message. */
export class MalformedProtobufError extends PulsarWireError {
  readonly code = 'MALFORMED_PROTOBUF'
  override readonly name = 'MalformedProtobufError'
  constructor (messageType: string, reason: string) {
    super(`undecodable ${messageType}: ${reason}`)
  }
}

/** A proto2 `required` field (or the command field its type names) is absent. */
export class MissingRequiredFieldError extends PulsarWireError {
  readonly code = 'MISSING_REQUIRED_FIELD'
  override readonly name = 'MissingRequiredFieldError'
  readonly field: string
  constructor (field: string) {
    super(`missing required field ${field}`)
    this.field = field
  }
}

/** BaseCommand.type is a number this schema does not know. */
export class UnknownCommandTypeError extends PulsarWireError {
  readonly code = 'UNKNOWN_COMMAND_TYPE'
  override readonly name = 'UnknownCommandTypeError'
  readonly typeNumber: number
  constructor (typeNumber: number) {
    super(`unknown command type ${typeNumber}`)
    this.typeNumber = typeNumber
  }
}

/** An encoder was given a value of the wrong type or range (a bug in the caller). */
export class InvalidFieldError extends PulsarWireError {
  readonly code = 'INVALID_FIELD'
  override readonly name = 'InvalidFieldError'
  constructor (field: string, reason: string) {
    super(`${field}: ${reason}`)
  }
}
