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
 * Whether a Content-Type names JSON: `application/json` or a `+json` type such as
 * `application/problem+json`, whatever its parameters (`; charset=utf-8`).
 */
export function isJsonContentType(contentType: string): boolean {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

/**
 * Reads the body as JSON and validates it; InvalidRequest for a non-JSON or invalid body, and for an
 * empty one unless `emptyBody` says what an empty body means (it is validated like any other). A body
 * sent with a Content-Type that is not JSON (a form, text, XML) is refused however it reads: the
 * sender meant something else. A body without a Content-Type is read as JSON.
 */
export async function readJsonBody<S extends z.ZodType>(
  req: HttpRequest,
  schema: S,
  options: { emptyBody?: unknown } = {},
): Promise<z.output<S>> {
  const text = await req.text();
  if (text.trim() === '' && 'emptyBody' in options)
    return validate(schema, options.emptyBody, 'request body');
  const contentType = req.headers.get('content-type');
  if (text.trim() !== '' && contentType !== null && !isJsonContentType(contentType)) {
    const shown = contentType.length > 100 ? `${contentType.slice(0, 100)}…` : contentType;
    throw new TidemarkError(
      'InvalidRequest',
      `The request body must be JSON (Content-Type: application/json), not ${JSON.stringify(shown)}.`,
      {
        hint: 'Send the body as JSON with the header "Content-Type: application/json".',
        details: { errors: [{ path: '(content-type)', message: 'must be application/json' }] },
      },
    );
  }
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
