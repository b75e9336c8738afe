/**
 * Function retry policies (host.json `retry` or a function's `retry` option): fixed delay or
 * exponential back-off, `maxRetryCount` (-1 = forever). The retry context is handed to each attempt.
 */
import { z } from 'zod';

import type { Clock } from '../../shared/clock';
import { parseConfig } from '../hostJson';
import { parseTimeSpan } from '../timeSpan';
import type { RegisteredFunction } from './coreApi';
import type { InvocationOutcome, InvocationRequest, Invoker } from './invoker';
import type { RpcDuration } from './rpcTypes';

export interface RetryPolicy {
  strategy: 'fixedDelay' | 'exponentialBackoff';
  maxRetryCount: number;
  delayMs: number;
  minimumMs: number;
  maximumMs: number;
}

const hostRetrySchema = z.object({
  strategy: z.enum(['fixedDelay', 'exponentialBackoff']),
  maxRetryCount: z.number().int().min(-1),
  delayInterval: z.string().optional(),
  minimumInterval: z.string().optional(),
  maximumInterval: z.string().optional(),
});

function durationMs(d: RpcDuration | null | undefined): number | undefined {
  if (!d) return undefined;
  return (d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6);
}

export function retryPolicyFor(fn: RegisteredFunction, hostRetry: unknown): RetryPolicy | undefined {
  const r = fn.metadata.retryOptions;
  if (r && r.retryStrategy) {
    return {
      strategy: r.retryStrategy,
      maxRetryCount: r.maxRetryCount ?? 0,
      delayMs: durationMs(r.delayInterval) ?? 0,
      minimumMs: durationMs(r.minimumInterval) ?? 0,
      maximumMs: durationMs(r.maximumInterval) ?? Number.MAX_SAFE_INTEGER,
    };
  }
  if (hostRetry === undefined) return undefined;
  const h = parseConfig(hostRetrySchema, hostRetry, 'host.json retry');
  return {
    strategy: h.strategy,
    maxRetryCount: h.maxRetryCount,
    delayMs: h.delayInterval ? parseTimeSpan(h.delayInterval, 'host.json retry.delayInterval') : 0,
    minimumMs: h.minimumInterval ? parseTimeSpan(h.minimumInterval, 'host.json retry.minimumInterval') : 0,
    maximumMs: h.maximumInterval
      ? parseTimeSpan(h.maximumInterval, 'host.json retry.maximumInterval')
      : Number.MAX_SAFE_INTEGER,
  };
}

/** Delay before retry number `retry` (1-based). */
export function retryDelay(policy: RetryPolicy, retry: number): number {
  if (policy.strategy === 'fixedDelay') return policy.delayMs;
  const base = policy.minimumMs;
  return Math.min(policy.maximumMs, base * 2 ** (retry - 1));
}

/** Invokes, retrying failures as the policy says; returns the last outcome. */
export async function invokeWithRetry(
  invoker: Invoker,
  fn: RegisteredFunction,
  request: InvocationRequest,
  policy: RetryPolicy | undefined,
  clock: Clock,
  signal?: AbortSignal,
): Promise<InvocationOutcome> {
  let outcome = await invoker.invoke(fn, request);
  if (!policy) return outcome;
  for (let retry = 1; !outcome.ok && (policy.maxRetryCount < 0 || retry <= policy.maxRetryCount); retry++) {
    if (signal?.aborted) break;
    try {
      await clock.sleep(retryDelay(policy, retry), signal);
    } catch {
      break;
    }
    outcome = await invoker.invoke(fn, {
      ...request,
      invocationId: undefined,
      retryContext: {
        retryCount: retry,
        maxRetryCount: policy.maxRetryCount,
        exception: {
          message: outcome.error?.message,
          stackTrace: outcome.error?.stack,
          source: fn.metadata.name,
        },
      },
    });
  }
  return outcome;
}
