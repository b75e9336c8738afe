/**
 * Request bodies and query values, validated with zod. A failure is an InvalidRequest TidemarkError
 * whose `details.errors` lists each bad field as `{path, message}` (problem.ts puts them in the
 * problem+json `errors`), so a client learns everything wrong with its request at once.
 */
import type { HttpRequest } from '@azure/functions';
import type { z } from 'zod';

import { TidemarkError } from '../errors';

export interface FieldError {
  path: string;
  message: string;
}

/** `disks[0].sizeGiB` from `['disks', 0, 'sizeGiB']`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(body)';
}

export function zodFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: fieldPath(issue.path), message: issue.message }));
}

function invalidRequest(what: string, errors: FieldError[]): TidemarkError {
  const summary = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return new TidemarkError('InvalidRequest', `The ${what} is invalid: ${summary}.`, { details: { errors } });
}

/** Validates `value` against `schema`; InvalidRequest listing every bad field otherwise. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidRequest(what, zodFieldErrors(result.error));
  return result.data;
}

/**
 * Reads the body as JSON and validates it; InvalidRequest for a non-JSON or invalid body, and for an
 * empty one unless `emptyBody` says what an empty body means (it is validated like any other).
 */
export async function readJsonBody<S extends z.ZodType>(
  req: HttpRequest,
  schema: S,
  options: { emptyBody?: unknown } = {},
): Promise<z.output<S>> {
  const text = await req.text();
  if (text.trim() === '' && 'emptyBody' in options)
    return validate(schema, options.emptyBody, 'request body');
  if (text.trim() === '') {
    throw new TidemarkError('InvalidRequest', 'The request body is empty; send a JSON object.', {
      details: { errors: [{ path: '(body)', message: 'required' }] },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TidemarkError('InvalidRequest', `The request body is not JSON: ${(err as Error).message}.`, {
      details: { errors: [{ path: '(body)', message: 'not JSON' }] },
    });
  }
  return validate(schema, value, 'request body');
}
