/**
 * The one logging interface of tidemark's library code. Library code takes a Logger and never calls
 * `console`. The host, agent and CLI back it with pino (see createPinoLogger in host/ and agent/);
 * functions adapt `context.log`; tests use a recording logger.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export type LogFields = Record<string, unknown>;

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LogRecord {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** Keeps every record in memory; for tests and for the local host's log hooks. */
export class RecordingLogger implements Logger {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly bound: LogFields = {},
  ) {}

  private push(level: LogLevel, msg: string, fields?: LogFields): void {
    this.records.push({ level, msg, fields: { ...this.bound, ...fields } });
  }

  trace(msg: string, fields?: LogFields): void {
    this.push('trace', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.push('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.push('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.push('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.push('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new RecordingLogger(this.records, { ...this.bound, ...fields });
  }
}

export const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
