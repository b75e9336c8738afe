/**
 * How activities hand failures to orchestrations. A user error (bad input, a state that refuses the
 * action) is not worth retrying, so the activity returns it as a value and the orchestration fails
 * the step with its message at once; anything else is thrown, and the orchestration's retry policy
 * retries it.
 */
import { TidemarkError } from '../errors';

export interface ActivityFailure {
  code: string;
  message: string;
  hint?: string;
}

export type ActivityOutcome<T> = { ok: true; value: T } | { ok: false; error: ActivityFailure };

/** Runs an activity's work; non-retryable TidemarkErrors come back as `{ok: false}`. */
export async function activityOutcome<T>(work: () => Promise<T>): Promise<ActivityOutcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    if (err instanceof TidemarkError && !err.retryable) {
      return {
        ok: false,
        error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) },
      };
    }
    throw err;
  }
}

/** The failure as one sentence for a job step: the message, then what to do. */
export function failureMessage(error: ActivityFailure): string {
  return error.hint ? `${error.message} ${error.hint}` : error.message;
}
