import { TidemarkError, type ErrorCode } from '../errors';

export type DeltaErrorCode = Extract<ErrorCode, `Delta${string}`>;

/** A decode failure; `at` is the byte offset in the blob where the problem is. */
export function deltaError(
  code: DeltaErrorCode,
  message: string,
  details: { at: number } & Record<string, unknown>,
): TidemarkError {
  return new TidemarkError(code, `${message} (at byte ${details.at})`, { details });
}

/** An encode input problem: `field` names the bad field, e.g. `entries[3].offset`. */
export function invalidDelta(field: string, problem: string, value?: unknown): TidemarkError {
  return new TidemarkError('InvalidArgument', `delta ${field} ${problem}`, {
    details: { field, ...(value === undefined ? {} : { value }) },
  });
}

/** A CRC or flags value as it reads best in a message: 0x1a2b3c4d. */
export function hex(value: number, digits = 8): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}
