// The Logger interface core code logs through, and two implementations that need no I/O:
// a silent one and one that records lines (the simulator's trace reads them).

export type LogFields = Record<string, unknown>
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  debug (message: string, fields?: LogFields): void
  info (message: string, fields?: LogFields): void
  warn (message: string, fields?: LogFields): void
  error (message: string, fields?: LogFields): void
  /** A logger that adds `bindings` to every line. */
  child (bindings: LogFields): Logger
}

export interface LogRecord {
  level: LogLevel
  message: string
  fields: LogFields
}

/** Passes every line, with its bindings merged in, to `sink`. */
export class CallbackLogger implements Logger {
  private readonly sink: (record: LogRecord) => void
  private readonly bindings: LogFields

  constructor (sink: (record: LogRecord) => void, bindings: LogFields = {}) {
    this.sink = sink
    this.bindings = bindings
  }

  debug (message: string, fields?: LogFields): void { this.write('debug', message, fields) }
  info (message: string, fields?: LogFields): void { this.write('info', message, fields) }
  warn (message: string, fields?: LogFields): void { this.write('warn', message, fields) }
  error (message: string, fields?: LogFields): void { this.write('error', message, fields) }

  child (bindings: LogFields): Logger {
    return new CallbackLogger(this.sink, { ...this.bindings, ...bindings })
  }

  private write (level: LogLevel, message: string, fields?: LogFields): void {
    this.sink({ level, message, fields: { ...this.bindings, ...fields } })
  }
}

export const silentLogger: Logger = new CallbackLogger(() => {})
