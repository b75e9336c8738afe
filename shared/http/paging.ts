/**
 * Paging of the API's lists (`GET /api/vms`, `GET /api/jobs`), in the style of the recovery-points
 * list: `?top=` (1..1000, default 100) is a page's size, and while more items follow the answer
 * carries an opaque `continuationToken` (base64url of `{"after": <the page's last item>}`) and a
 * `nextLink`, the same query with that token; the last page has neither. A page goes on right after
 * the item the token names, so items added or removed meanwhile neither repeat nor skip the ones
 * that were there.
 */
import { z } from 'zod';

export const DEFAULT_TOP = 100;
export const MAX_TOP = 1000;

export const TOP_MESSAGE = `must be a whole number from 1 to ${MAX_TOP}`;
export const BAD_TOKEN = 'is not a token this API gave out; start again without it';

/** `?top=`: a whole number 1..MAX_TOP written plainly (no sign, no leading zero, no exponent). */
export const topSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,3}$/, TOP_MESSAGE)
  .transform(Number)
  .refine((n) => n <= MAX_TOP, TOP_MESSAGE);

/** The token of a page that ends with `after` (what the list's cursor schema reads back). */
export function encodeToken(after: unknown): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

/** The `after` of a token this API made, or undefined for anything else. */
export function decodeToken<S extends z.ZodType>(token: string, after: S): z.output<S> | undefined {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(token)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = z.strictObject({ after }).safeParse(value);
  return parsed.success ? (parsed.data as { after: z.output<S> }).after : undefined;
}

/** `?continuationToken=` as a zod field whose output is the decoded cursor. */
export function tokenSchema<S extends z.ZodType>(after: S): z.ZodType<z.output<S>, string> {
  return z.string().transform((token, ctx) => {
    const decoded = decodeToken(token, after);
    if (decoded === undefined) {
      ctx.addIssue({ code: 'custom', message: BAD_TOKEN });
      return z.NEVER;
    }
    return decoded;
  });
}

/** The query values a list reads (absent ones left out); others, such as `code` (the key), are ignored. */
export function queryValues<K extends string>(
  query: URLSearchParams,
  keys: readonly K[],
): Partial<Record<K, string>> {
  const raw: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = query.get(key);
    if (value !== null) raw[key] = value;
  }
  return raw;
}

export interface Page<T> {
  items: T[];
  /** The last item of the page when more follow, else null. */
  last: T | null;
}

/**
 * One page of `sorted` (in the list's order): the first `top` items that come after the cursor
 * (`isAfter` says whether an item does; every item without a cursor).
 */
export function pageOf<T>(sorted: readonly T[], top: number, isAfter?: (item: T) => boolean): Page<T> {
  const rest = isAfter ? sorted.filter(isAfter) : sorted;
  const items = rest.slice(0, top);
  const last = items[items.length - 1];
  return { items, last: rest.length > items.length && last !== undefined ? last : null };
}

/**
 * The answer's paging fields: while more items follow, the token of the next page and its link,
 * `pathname` with the list's filters, `top` and the token. The last page has neither, so a list that
 * fits one page answers as it did before paging (`{"vms": [...]}`).
 */
export function pageLinks(
  pathname: string,
  filters: Record<string, string | undefined>,
  top: number,
  token: string | null,
): { continuationToken?: string; nextLink?: string } {
  if (token === null) return {};
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value !== undefined) params.set(key, value);
  params.set('top', String(top));
  params.set('continuationToken', token);
  return { continuationToken: token, nextLink: `${pathname}?${params.toString()}` };
}

/** Ordinal comparison of strings (no locale: the order must be the same in every process). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
