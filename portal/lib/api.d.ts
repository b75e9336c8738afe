// Generated from api.js's JSDoc by test/unit/portal/declarations.test.ts; do not edit.
// UPDATE_PORTAL_DTS=1 npx vitest run test/unit/portal/declarations.test.ts rewrites it.
/**
 * The API's base URL for a page at `…/portal/…`: the folder above `portal/` (so `/api/` when the
 * page is at `/api/portal/`, whatever host.json's routePrefix is).
 * @param {string} pageUrl
 */
export function apiBaseFor(pageUrl: string): string;
/**
 * @typedef {object} ApiClient
 * @property {(method: string, route: string, body?: unknown) => Promise<any>} request
 *   `route` is below the API base (`vms`, `jobs/{id}`); resolves with the parsed JSON body.
 */
/**
 * @param {{base: string, getKey: () => string | null, fetch?: typeof globalThis.fetch}} options
 * @returns {ApiClient}
 */
export function createApi(options: {
  base: string;
  getKey: () => string | null;
  fetch?: typeof globalThis.fetch;
}): ApiClient;
/**
 * Every item of one of the API's paged lists (`vms`, `jobs`, `…/recovery-points`): the items under
 * `field` of each page, following the answer's `nextLink` to the last page (at most `maxPages`).
 * @param {(method: string, route: string) => Promise<any>} request `ApiClient.request`, or a wrapper of it
 * @param {string} route the first page, below the API base (`vms?top=1000`)
 * @param {string} field `vms`, `jobs`, `recoveryPoints`
 * @param {number} [maxPages]
 * @returns {Promise<any[]>}
 */
export function listAll(
  request: (method: string, route: string) => Promise<any>,
  route: string,
  field: string,
  maxPages?: number,
): Promise<any[]>;
/** An answer that was not 2xx (or no answer at all: status 0). */
export class ApiError extends Error {
  /**
   * @param {import('./requests.js').ProblemView} problem
   */
  constructor(problem: import('./requests.js').ProblemView);
  problem: import('./requests.js').ProblemView;
  status: number;
}
/** How many pages `listAll` reads at most (with `top=1000`, 100 000 items). */
export const MAX_LIST_PAGES: 100;
export type ApiClient = {
  /**
   *   `route` is below the API base (`vms`, `jobs/{id}`); resolves with the parsed JSON body.
   */
  request: (method: string, route: string, body?: unknown) => Promise<any>;
};
