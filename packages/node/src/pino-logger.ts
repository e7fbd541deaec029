// The Env Logger over pino (JSON lines on stdout, or pretty-free plain JSON to a destination).
import type { LogFields, Logger } from '@blazar/env'
import { destination, pino, type Logger as Pino } from 'pino'

export class PinoLogger implements Logger {
  private readonly pino: Pino

  constructor (pinoLogger: Pino) {
    this.pino = pinoLogger
  }

  static create (options: { level: string, name?: string | null, destination?: number | string }): PinoLogger {
    const base = options.name === undefined || options.name === null ? {} : { node: options.name }
    return new PinoLogger(pino({ level: options.level, base }, destination({ dest: options.destination ?? 1, sync: false })))
  }

  debug (message: string, fields?: LogFields): void { this.pino.debug(fields ?? {}, message) }
  info (message: string, fields?: LogFields): void { this.pino.info(fields ?? {}, message) }
  warn (message: string, fields?: LogFields): void { this.pino.warn(fields ?? {}, message) }
  error (message: string, fields?: LogFields): void { this.pino.error(fields ?? {}, message) }

  child (bindings: LogFields): Logger {
    return new PinoLogger(this.pino.child(bindings))
  }

  flush (): void {
    this.pino.flush()
  }
}
