/**
 * The CLI's HTTP client of tidemark's API (DESIGN §6): the function key in `x-functions-key`, JSON
 * bodies, and every failure as a CliError: a 4xx is a user error (exit 1) saying the problem's detail
 * and its hint as the fix; a 5xx or an unreachable host is a system error (exit 2).
 */
import { CliError, type CliProblem, EXIT, type FieldError } from './errors';
import type { VmRef } from './args';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** The host, e.g. http://127.0.0.1:7071. */
  url: string;
  /** The function key; absent: sent without one. */
  key?: string;
  fetch?: FetchLike;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
  /** The Location header, for the 202 of a started job. */
  location?: string;
}

export interface RequestOptions {
  /** Statuses besides 2xx whose JSON body is an answer, not an error (503 of /api/health). */
  accept?: number[];
}

export const DEFAULT_URL = 'http://127.0.0.1:7071';

const KEY_FIX =
  'Pass the function key with --key KEY or set TIDEMARK_KEY (`npm start` prints it as "Function key").';

/** `/api/vms/{rg}/{vm}[/suffix]`, each name encoded. */
export function vmPath(vm: VmRef, suffix = ''): string {
  const base = `/api/vms/${encodeURIComponent(vm.resourceGroup)}/${encodeURIComponent(vm.name)}`;
  return suffix ? `${base}/${suffix}` : base;
}

export function jobPath(id: string): string {
  return `/api/jobs/${encodeURIComponent(id)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The paging fields of a list's page (DESIGN §6). */
export interface ListPage {
  nextLink?: string | null;
  continuationToken?: string | null;
}

export const MAX_PAGES = 1000;

/** The next page of the list at `path` after a page `body`, or undefined after the last one. */
export function nextPageOf(path: string, body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  if (typeof body.nextLink === 'string' && body.nextLink !== '') return body.nextLink;
  if (typeof body.continuationToken === 'string' && body.continuationToken !== '') {
    const sep = path.includes('?') ? '&' : '?';
    return `${path}${sep}continuationToken=${encodeURIComponent(body.continuationToken)}`;
  }
  return undefined;
}

function asProblem(body: unknown): CliProblem | undefined {
  if (!isRecord(body) || typeof body.detail !== 'string') return undefined;
  return body as CliProblem;
}

function fieldErrors(problem: CliProblem): FieldError[] {
  if (!Array.isArray(problem.errors)) return [];
  return problem.errors.filter(
    (e): e is FieldError => isRecord(e) && typeof e.path === 'string' && typeof e.message === 'string',
  );
}

/** `rg/vm` from a VM route, for messages. */
function vmOfPath(path: string): string | undefined {
  const match = /^\/api\/vms\/([^/?]+)\/([^/?]+)/.exec(path);
  return match ? `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}` : undefined;
}

/** What to do about a 4xx the API gave no hint for. */
export function defaultFix(status: number, path: string): string {
  const vm = vmOfPath(path);
  if (status === 404 && path.startsWith('/api/jobs')) return '`tidemark job list` lists the jobs.';
  if (status === 404) return '`tidemark vm list` lists the VMs; names are RESOURCE_GROUP/NAME.';
  if (status === 409) {
    return vm
      ? `\`tidemark replication show ${vm}\` shows the VM's state; \`tidemark job list\` shows the jobs that run.`
      : '`tidemark job list` shows the jobs that run.';
  }
  if (status === 400 || status === 422) return 'Correct what it names and run the command again.';
  return 'Correct the request and run the command again.';
}

export class ApiClient {
  readonly baseUrl: string;
  readonly #key: string | undefined;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.#key = options.key === '' ? undefined : options.key;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  get<T>(path: string, options?: RequestOptions): Promise<ApiAnswer<T>> {
    return this.request<T>('GET', path, undefined, options);
  }

  /**
   * Every item of a paged list (`GET /api/vms`, `/api/jobs`, `…/recovery-points`): the items under
   * `field` of each page, following `nextLink` (or, from an API without it, `continuationToken`)
   * until the last page. At most `maxPages` pages, so a server that loops cannot hang the CLI.
   */
  async getAll<T>(path: string, field: string, maxPages = MAX_PAGES): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    for (let page = 0; next !== undefined; page++) {
      if (page >= maxPages) {
        throw new CliError(
          EXIT.system,
          `GET ${path} gave more than ${maxPages} pages.`,
          'Narrow the list (e.g. --region), or check that --url points at a tidemark host.',
          { code: 'InvalidResponse' },
        );
      }
      const { body } = await this.get<ListPage>(next);
      const got = isRecord(body) ? body[field] : undefined;
      if (Array.isArray(got)) items.push(...(got as T[]));
      next = nextPageOf(path, body);
    }
    return items;
  }

  post<T>(path: string, body?: unknown): Promise<ApiAnswer<T>> {
    return this.request<T>('POST', path, body ?? {});
  }

  put<T>(path: string, body: unknown): Promise<ApiAnswer<T>> {
    return this.request<T>('PUT', path, body);
  }

  /** `path` is `/api/...` or a link the API gave (absolute or relative to the host). */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<ApiAnswer<T>> {
    const url = new URL(path, `${this.baseUrl}/`).toString();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#key !== undefined) headers['x-functions-key'] = this.#key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw this.#unreachable(err);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      parsed = undefined;
    }
    if ((res.status >= 200 && res.status < 300) || options.accept?.includes(res.status)) {
      if (parsed === undefined && text !== '') {
        throw new CliError(
          EXIT.system,
          `${method} ${url} answered ${res.status} with something that is not JSON.`,
          'Check that --url (or TIDEMARK_URL) points at a tidemark host.',
          { code: 'InvalidResponse' },
        );
      }
      const location = res.headers.get('location');
      return { status: res.status, body: (parsed ?? {}) as T, ...(location ? { location } : {}) };
    }
    throw this.#failure(method, new URL(url).pathname, res.status, parsed);
  }

  #unreachable(err: unknown): CliError {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const timedOut = e?.name === 'TimeoutError' || e?.name === 'AbortError';
    const why = timedOut
      ? `no answer in ${Math.round(this.#timeoutMs / 1000)} s`
      : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err));
    return new CliError(
      EXIT.system,
      `Cannot reach tidemark at ${this.baseUrl} (${why}).`,
      'Start the host (`npm start`), or point --url (or TIDEMARK_URL) at a running one.',
      { code: timedOut ? 'Timeout' : 'Unreachable', cause: err },
    );
  }

  #failure(method: string, path: string, status: number, body: unknown): CliError {
    const problem = asProblem(body);
    if (status === 401) {
      const message =
        this.#key === undefined
          ? 'No function key was given, and the API needs one (401 Unauthorized).'
          : 'The function key was refused (401 Unauthorized).';
      return new CliError(EXIT.user, message, KEY_FIX, {
        code: 'Unauthorized',
        problem: problem ?? {
          type: 'urn:tidemark:cli:Unauthorized',
          title: 'Unauthorized',
          status,
          detail: message,
          code: 'Unauthorized',
          hint: KEY_FIX,
        },
      });
    }
    if (!problem) {
      const message =
        status === 404
          ? `The host at ${this.baseUrl} has no route ${method} ${path} (404).`
          : `${method} ${path} failed with HTTP ${status}.`;
      const fix =
        status === 404
          ? 'Check that --url (or TIDEMARK_URL) points at tidemark, and that the host runs a tidemark version with this command.'
          : status >= 500
            ? 'Try again shortly; if it keeps failing, look in the host log.'
            : defaultFix(status, path);
      const code = status === 404 ? 'NotFound' : status >= 500 ? 'Internal' : 'InvalidRequest';
      return new CliError(status >= 500 ? EXIT.system : EXIT.user, message, fix, {
        code,
        problem: { type: `urn:tidemark:cli:${code}`, title: `HTTP ${status}`, status, detail: message, code },
      });
    }
    const fields = fieldErrors(problem);
    if (status >= 400 && status < 500) {
      return new CliError(EXIT.user, problem.detail, problem.hint ?? defaultFix(status, path), {
        problem,
        fields,
      });
    }
    const invocation =
      typeof problem.invocationId === 'string' ? ` (invocation ${problem.invocationId})` : '';
    const fix =
      problem.hint ??
      (problem.code === 'InvalidConfig'
        ? "Correct the host's app settings, then restart it."
        : `Try again shortly; if it keeps failing, look in the host log${invocation}.`);
    return new CliError(EXIT.system, problem.detail, fix, { problem, fields });
  }
}
