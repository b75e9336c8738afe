/**
 * Backs the Logger interface with pino: JSON lines (one object per event) for machines, or
 * pino-pretty when a person watches a terminal. Messages, fields and child bindings are redacted
 * first (shared/logger.ts), so no line carries a key, an account key, a SAS signature or a secret.
 */
import pino from 'pino';

import { type LogFields, type Logger, redactFields, redactMessage } from './logger';

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
  const at =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: LogFields): void => {
      // Redacting costs a walk of the fields: skip it for a level that writes nothing.
      if (p.isLevelEnabled(level)) p[level](redactFields(fields ?? {}), redactMessage(msg));
    };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields: LogFields) => wrap(p.child(redactFields(fields))),
  };
}
