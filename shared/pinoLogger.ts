/**
 * Backs the Logger interface with pino: JSON lines (one object per event) for machines, or
 * pino-pretty when a person watches a terminal.
 */
import pino from 'pino';

import type { LogFields, Logger } from './logger';

export interface PinoLoggerOptions {
  level?: string;
  name?: string;
  /** Human-readable output (pino-pretty); default: when stdout is a terminal. */
  pretty?: boolean;
  /** File descriptor or path to write to; default stdout. */
  destination?: number | string;
}

export function createPinoLogger(options: PinoLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const destination = options.destination ?? 1;
  const stream = pretty
    ? // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('pino-pretty') as typeof import('pino-pretty'))({
        destination,
        colorize: Boolean(process.stdout.isTTY),
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
        sync: true,
      })
    : pino.destination({ dest: destination, sync: true });
  const base = pino(
    {
      level: options.level ?? 'info',
      name: options.name,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
  return wrap(base);
}

function wrap(p: pino.Logger): Logger {
  return {
    trace: (msg: string, fields?: LogFields) => p.trace(fields ?? {}, msg),
    debug: (msg: string, fields?: LogFields) => p.debug(fields ?? {}, msg),
    info: (msg: string, fields?: LogFields) => p.info(fields ?? {}, msg),
    warn: (msg: string, fields?: LogFields) => p.warn(fields ?? {}, msg),
    error: (msg: string, fields?: LogFields) => p.error(fields ?? {}, msg),
    child: (fields: LogFields) => wrap(p.child(fields)),
  };
}
