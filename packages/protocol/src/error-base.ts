// The base of every Blazar error and the registry that turns a wire error back into its class.
// Each error is its own class with a stable `name` and `code` (callers branch on the code) and
// `details`: plain msgpack-able fields that survive the trip across the wire.

export type ErrorDetails = Record<string, unknown>

/** How an error travels: the code names the class, details are re-validated on arrival. */
export interface WireError {
  code: string
  message: string
  details: ErrorDetails
}

export class BlazarError<D extends ErrorDetails = ErrorDetails> extends Error {
  readonly code: string
  readonly details: D

  constructor (code: string, name: string, message: string, details: D) {
    super(message)
    this.code = code
    this.name = name
    this.details = details
  }

  toWire (): WireError {
    return { code: this.code, message: this.message, details: { ...this.details } }
  }
}

export interface ErrorSpec<D extends ErrorDetails> {
  name: string
  code: string
  /** Message used when none is given. */
  describe: (details: D) => string
  /** Validates details that arrived over the wire; throws on a bad shape. */
  parseDetails: (raw: ErrorDetails) => D
}

export interface BlazarErrorClass<D extends ErrorDetails> {
  new (details: D, message?: string): BlazarError<D>
  readonly code: string
  readonly spec: ErrorSpec<D>
}

const registry = new Map<string, BlazarErrorClass<ErrorDetails>>()

/** Declares one error class; its code must be unique. */
export function defineError<D extends ErrorDetails> (spec: ErrorSpec<D>): BlazarErrorClass<D> {
  if (registry.has(spec.code)) throw new Error(`duplicate error code ${spec.code}`)
  const Defined = class extends BlazarError<D> {
    static readonly code = spec.code
    static readonly spec = spec
    constructor (details: D, message?: string) {
      super(spec.code, spec.name, message ?? spec.describe(details), details)
    }
  }
  Object.defineProperty(Defined, 'name', { value: spec.name })
  registry.set(spec.code, Defined as unknown as BlazarErrorClass<ErrorDetails>)
  return Defined
}

/** The class registered for `code`, if any. */
export function errorClassFor (code: string): BlazarErrorClass<ErrorDetails> | undefined {
  return registry.get(code)
}

/** Every registered error code (for documentation and tests). */
export function registeredErrorCodes (): string[] {
  return [...registry.keys()]
}
