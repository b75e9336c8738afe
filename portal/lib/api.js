// The portal's HTTP client: the function key in `x-functions-key`, JSON in and out, and every error
// answer turned into an ApiError that carries the problem as the API worded it.

import { problemView } from './requests.js';

/** An answer that was not 2xx (or no answer at all: status 0). */
export class ApiError extends Error {
  /**
   * @param {import('./requests.js').ProblemView} problem
   */
  constructor(problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'ApiError';
    this.problem = problem;
    this.status = problem.status ?? 0;
  }
}

/**
 * The API's base URL for a page at `…/portal/…`: the folder above `portal/` (so `/api/` when the
 * page is at `/api/portal/`, whatever host.json's routePrefix is).
 * @param {string} pageUrl
 */
export function apiBaseFor(pageUrl) {
  const url = new URL(pageUrl);
  const at = url.pathname.toLowerCase().lastIndexOf('/portal/');
  const basePath = at >= 0 ? url.pathname.slice(0, at + 1) : '/api/';
  return new URL(basePath, url).href;
}

/**
 * @typedef {object} ApiClient
 * @property {(method: string, route: string, body?: unknown) => Promise<any>} request
 *   `route` is below the API base (`vms`, `jobs/{id}`); resolves with the parsed JSON body.
 */

/**
 * @param {{base: string, getKey: () => string | null, fetch?: typeof globalThis.fetch}} options
 * @returns {ApiClient}
 */
export function createApi(options) {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  return {
    async request(method, route, body) {
      /** @type {Record<string, string>} */
      const headers = { accept: 'application/json, application/problem+json' };
      const key = options.getKey();
      if (key) headers['x-functions-key'] = key;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res;
      try {
        res = await doFetch(new URL(route, options.base).href, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          cache: 'no-store',
        });
      } catch (err) {
        throw new ApiError({
          title: 'The function app did not answer',
          detail: err instanceof Error ? err.message : String(err),
          errors: [],
          status: 0,
        });
      }
      const text = await res.text();
      /** @type {unknown} */
      let parsed = text;
      if (text && /json/i.test(res.headers.get('content-type') ?? '')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      if (!res.ok) throw new ApiError(problemView(res.status, parsed, res.statusText));
      return parsed === '' ? {} : parsed;
    },
  };
}

/** How many pages `listAll` reads at most (with `top=1000`, 100 000 items). */
export const MAX_LIST_PAGES = 100;

/**
 * Every item of one of the API's paged lists (`vms`, `jobs`, `…/recovery-points`): the items under
 * `field` of each page, following the answer's `nextLink` to the last page (at most `maxPages`).
 * @param {(method: string, route: string) => Promise<any>} request `ApiClient.request`, or a wrapper of it
 * @param {string} route the first page, below the API base (`vms?top=1000`)
 * @param {string} field `vms`, `jobs`, `recoveryPoints`
 * @param {number} [maxPages]
 * @returns {Promise<any[]>}
 */
export async function listAll(request, route, field, maxPages = MAX_LIST_PAGES) {
  /** @type {any[]} */
  const items = [];
  /** @type {string | null} */
  let next = route;
  for (let page = 0; next !== null && page < maxPages; page++) {
    const body = await request('GET', next);
    const got = body && typeof body === 'object' ? body[field] : undefined;
    if (Array.isArray(got)) items.push(...got);
    // nextLink is a path from the host's root (`/api/vms?…`): it resolves against the API base.
    next = body && typeof body.nextLink === 'string' && body.nextLink !== '' ? body.nextLink : null;
  }
  return items;
}
