/**
 * Errors as `application/problem+json` (RFC 9457), for every HTTP route. The status follows the
 * error's code; user errors say what was wrong (and how to fix it), system errors say only that the
 * request failed and the invocation id to find it in the logs — never internals.
 *
 *   {"type":"urn:tidemark:error:InvalidArgument","title":"Invalid argument","status":400,
 *    "detail":"…","code":"InvalidArgument","hint":"…","errors":[{"path":"disks[0].sizeGiB","message":"…"}]}
 */
import type { HttpResponseInit } from '@azure/functions';

import { type ErrorCode, TidemarkError, toTidemarkError } from '../errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  hint?: string;
  /** Which fields of the request were wrong, for a request that failed validation. */
  errors?: { path: string; message: string }[];
  /** Machine-readable facts of a user error (names, limits). */
  details?: Record<string, unknown>;
  /** For system errors: the invocation to look for in the logs. */
  invocationId?: string;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  InvalidArgument: 400,
  InvalidRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  // The app's own settings are wrong: not the caller's fault.
  InvalidConfig: 500,
  StorageUnavailable: 503,
  Timeout: 503,
  JournalCorrupt: 500,
  Internal: 500,
};

const TITLES: Partial<Record<ErrorCode, string>> = {
  InvalidArgument: 'Invalid argument',
  InvalidRequest: 'Invalid request',
  Unauthorized: 'Unauthorized',
  NotFound: 'Not found',
  Conflict: 'Conflict',
  InvalidConfig: 'Server misconfigured',
  StorageUnavailable: 'Storage unavailable',
  Timeout: 'Timed out',
  JournalCorrupt: 'Journal corrupt',
  Internal: 'Internal error',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** A failure to reach storage (no HTTP status from it, a network error code, or a 5xx). */
function isStorageFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { code?: unknown; statusCode?: unknown };
  if (e.name === 'RestError')
    return e.statusCode === undefined || (typeof e.statusCode === 'number' && e.statusCode >= 500);
  return typeof e.code === 'string' && NETWORK_CODES.has(e.code);
}

/** The TidemarkError an HTTP answer is made from: storage failures become StorageUnavailable. */
export function classifyError(error: unknown): TidemarkError {
  if (error instanceof TidemarkError) return error;
  return toTidemarkError(error, isStorageFailure(error) ? 'StorageUnavailable' : 'Internal');
}

export function statusFor(error: TidemarkError): number {
  return STATUS[error.code] ?? (error.kind === 'user' ? 400 : 500);
}

export function problemFor(
  error: unknown,
  context: { instance?: string; invocationId?: string } = {},
): ProblemDetails {
  const e = classifyError(error);
  const status = statusFor(e);
  const problem: ProblemDetails = {
    type: `urn:tidemark:error:${e.code}`,
    title: TITLES[e.code] ?? e.code,
    status,
    detail: e.message,
    code: e.code,
  };
  if (context.instance !== undefined) problem.instance = context.instance;
  if (status >= 500 && e.code !== 'InvalidConfig') {
    problem.detail =
      e.code === 'StorageUnavailable'
        ? 'tidemark could not reach its storage; try again shortly.'
        : 'tidemark could not complete the request.';
    if (context.invocationId !== undefined) problem.invocationId = context.invocationId;
    return problem;
  }
  if (e.hint !== undefined) problem.hint = e.hint;
  const { errors, ...details } = e.details ?? {};
  if (Array.isArray(errors)) problem.errors = errors as ProblemDetails['errors'];
  if (Object.keys(details).length > 0) problem.details = details;
  return problem;
}

/**
 * The problem as JSON text. Details come from the request at times (a name, a value that was
 * wrong); one JSON cannot write (nested too deep, a cycle, a BigInt) is left out rather than failing
 * the answer, so an error answer is always problem+json.
 */
function problemText(problem: ProblemDetails): string {
  try {
    return JSON.stringify(problem);
  } catch {
    const { details: _details, errors, ...rest } = problem;
    try {
      return JSON.stringify({ ...rest, ...(errors ? { errors } : {}) });
    } catch {
      return JSON.stringify(rest);
    }
  }
}

export function problemResponse(
  error: unknown,
  context: { instance?: string; invocationId?: string } = {},
): HttpResponseInit {
  const problem = problemFor(error, context);
  return {
    status: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
    body: problemText(problem),
  };
}
