/**
 * Wraps an HTTP function so whatever it throws becomes a problem+json answer: user errors are logged
 * briefly, system errors in full (with the invocation id the answer carries), and JSON answers share
 * one helper.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { ensureError } from '../errors';
import { contextLogger } from '../functionsLogger';
import { classifyError, problemResponse } from './problem';

export function json(status: number, body: unknown): HttpResponseInit {
  return { status, jsonBody: body };
}

function pathOf(req: HttpRequest): string | undefined {
  try {
    return new URL(req.url).pathname;
  } catch {
    return undefined;
  }
}

export function withProblems(
  handler: (req: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>,
): HttpHandler {
  return async (req, context) => {
    try {
      return await handler(req, context);
    } catch (err) {
      const e = classifyError(err);
      const log = contextLogger(context);
      if (e.kind === 'system' || e.code === 'InvalidConfig') {
        const cause = ensureError(e.cause ?? err);
        log.error(`${req.method} ${pathOf(req) ?? req.url} failed`, {
          code: e.code,
          error: e.message,
          cause: cause.stack ?? cause.message,
        });
      } else {
        log.info(`${req.method} ${pathOf(req) ?? req.url} refused`, { code: e.code, error: e.message });
      }
      return problemResponse(e, { instance: pathOf(req), invocationId: context.invocationId });
    }
  };
}
