/** Retry delays for activities and sub-orchestrations called with retry (DTFX RetryInterceptor). */
import type { RetryPolicyJson } from './historyStore';

/** Delay after attempt `attempt` (1-based) failed, when another attempt follows. */
export function retryDelayMs(policy: RetryPolicyJson, attempt: number): number {
  const first = Math.max(0, policy.firstRetryIntervalInMilliseconds);
  const backoff = policy.backoffCoefficient && policy.backoffCoefficient > 0 ? policy.backoffCoefficient : 1;
  const delay = first * backoff ** Math.max(0, attempt - 1);
  const cap = policy.maxRetryIntervalInMilliseconds;
  return Math.round(cap && cap > 0 ? Math.min(delay, cap) : delay);
}

/** Whether another attempt follows attempt `attempt` (the SDK counts only maxNumberOfAttempts). */
export function hasNextAttempt(policy: RetryPolicyJson, attempt: number): boolean {
  return attempt < Math.max(1, policy.maxNumberOfAttempts);
}
