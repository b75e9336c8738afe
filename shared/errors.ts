/**
 * One error taxonomy for all of tidemark. Every error we raise on purpose is a TidemarkError with a
 * stable string code. User errors (bad input, a request that conflicts with state) are apart from
 * system errors (storage unreachable, a bug): the HTTP API maps the first to 4xx and the second to
 * 5xx, the CLI exits 1 or 2, and activities mark user errors non-retryable.
 */

export type ErrorKind = 'user' | 'system';

export const ERROR_CODES = {
  // configuration and input
  InvalidConfig: 'user',
  InvalidArgument: 'user',
  InvalidRequest: 'user',
  NotFound: 'user',
  Conflict: 'user',
  Unauthorized: 'user',
  // delta format
  DeltaTruncated: 'user',
  DeltaOversized: 'user',
  DeltaMisaligned: 'user',
  DeltaBadMagic: 'user',
  DeltaBadVersion: 'user',
  DeltaBadGeneration: 'user',
  DeltaBadChecksum: 'user',
  DeltaMalformed: 'user',
  // system
  StorageUnavailable: 'system',
  /** Stored data tidemark wrote fails its own checks (a journal frame header): not the caller's fault. */
  JournalCorrupt: 'system',
  Timeout: 'system',
  Internal: 'system',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TidemarkErrorOptions {
  /** What the user can do about it; shown by the CLI and in problem+json `detail`. */
  hint?: string;
  /** Machine-readable facts about the failure (offsets, names, limits). */
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Overrides the default: user errors are never worth retrying, system errors usually are. */
  retryable?: boolean;
}

export class TidemarkError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: TidemarkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TidemarkError';
    this.code = code;
    this.kind = ERROR_CODES[code];
    this.hint = options.hint;
    this.details = options.details;
    this.retryable = options.retryable ?? this.kind === 'system';
  }

  get isUserError(): boolean {
    return this.kind === 'user';
  }
}

export function isTidemarkError(value: unknown, code?: ErrorCode): value is TidemarkError {
  return value instanceof TidemarkError && (code === undefined || value.code === code);
}

/** Normalises anything caught into an Error, keeping TidemarkErrors as they are. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** Wraps an unknown failure as a system error unless it already carries a code. */
export function toTidemarkError(value: unknown, fallback: ErrorCode = 'Internal'): TidemarkError {
  if (value instanceof TidemarkError) return value;
  const error = ensureError(value);
  return new TidemarkError(fallback, error.message, { cause: error });
}
