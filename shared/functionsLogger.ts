/**
 * The Logger interface over a function invocation's context.log, so shared code logs the same way
 * everywhere; redacted as every Logger is (shared/logger.ts), so Application Insights gets no secret.
 */
import type { InvocationContext } from '@azure/functions';

import { type LogFields, type Logger, redactFields, redactMessage } from './logger';

export function contextLogger(context: InvocationContext, bound: LogFields = {}): Logger {
  const line = (msg: string, fields?: LogFields): string => {
    const all = redactFields({ ...bound, ...fields });
    return redactMessage(Object.keys(all).length ? `${msg} ${JSON.stringify(all)}` : msg);
  };
  return {
    trace: (msg, fields) => context.trace(line(msg, fields)),
    debug: (msg, fields) => context.debug(line(msg, fields)),
    info: (msg, fields) => context.info(line(msg, fields)),
    warn: (msg, fields) => context.warn(line(msg, fields)),
    error: (msg, fields) => context.error(line(msg, fields)),
    child: (fields) => contextLogger(context, { ...bound, ...fields }),
  };
}
