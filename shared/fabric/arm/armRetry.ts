/**
 * Retries for ARM requests, as a pipeline policy: 429 waits what `Retry-After` says; a 5xx (except
 * 501 and 505) or a connection failure backs off exponentially (or waits `Retry-After` when given).
 * Both are bounded: at most `maxRetries` retries, and a `Retry-After` beyond `maxRetryAfterMs` is not
 * waited out (the request fails, retryable, for the caller's own retry). Waits go through the
 * injected Clock, so tests never sleep.
 */
import type { PipelinePolicy, PipelineResponse } from '@azure/core-rest-pipeline';

import type { Clock } from '../../clock';
import type { Logger } from '../../logger';

export interface ArmRetryOptions {
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  /** First back-off for a 5xx or connection failure; doubles each retry (default 1 s). */
  baseDelayMs?: number;
  /** Cap of one back-off (default 30 s). */
  maxDelayMs?: number;
  /** The longest `Retry-After` waited out (default 2 min). */
  maxRetryAfterMs?: number;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'REQUEST_SEND_ERROR',
]);

/** `Retry-After` (seconds or an HTTP date) or the millisecond variants ARM also sends; undefined when absent. */
export function retryAfterMs(response: Pick<PipelineResponse, 'headers'>, now: number): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(response.headers.get(name));
    if (response.headers.has(name) && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const value = response.headers.get('retry-after');
  if (value === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

export function armRetryPolicy(clock: Clock, logger: Logger, options: ArmRetryOptions = {}): PipelinePolicy {
  const maxRetries = options.maxRetries ?? 5;
  const base = options.baseDelayMs ?? 1000;
  const cap = options.maxDelayMs ?? 30_000;
  const maxRetryAfter = options.maxRetryAfterMs ?? 120_000;
  return {
    name: 'tidemarkArmRetry',
    async sendRequest(request, next) {
      for (let retry = 0; ; retry++) {
        let response: PipelineResponse | undefined;
        let error: unknown;
        try {
          response = await next(request);
        } catch (err) {
          error = err;
        }
        const backOff = Math.min(cap, base * 2 ** retry);
        let delay: number | undefined;
        if (response && isRetryableStatus(response.status)) {
          const after = retryAfterMs(response, clock.now());
          delay = after === undefined ? backOff : after <= maxRetryAfter ? after : undefined;
        } else if (!response && isNetworkError(error)) {
          delay = backOff;
        }
        if (delay === undefined || retry >= maxRetries) {
          if (response) return response;
          throw error;
        }
        logger.warn('ARM request retried', {
          method: request.method,
          url: request.url.split('?')[0],
          status: response?.status,
          error: response ? undefined : String((error as Error | undefined)?.message ?? error),
          retry: retry + 1,
          delayMs: delay,
        });
        await clock.sleep(delay);
      }
    },
  };
}
