/**
 * A small Azure Resource Manager client on @azure/core-rest-pipeline: JSON in and out, ARM's paging
 * (`nextLink`), long-running operations awaited (armLro.ts), 429/5xx retried (armRetry.ts), errors
 * mapped (armErrors.ts), tokens added (armAuth.ts). Bodies are plain JSON, never typed models, so a
 * read-modify-write keeps every property ARM has, including ones this code does not know.
 */
import type { TokenCredential } from '@azure/core-auth';
import {
  createDefaultHttpClient,
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
  type HttpMethods,
  type Pipeline,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';

import { type Clock, SystemClock } from '../../clock';
import { TidemarkError } from '../../errors';
import { type Logger, silentLogger } from '../../logger';
import { TIDEMARK_VERSION } from '../../version';
import { armAuthPolicy, checkArmEndpoint } from './armAuth';
import { armError, parseArmError } from './armErrors';
import { awaitOperation, type OperationOptions } from './armLro';
import { armRetryPolicy, type ArmRetryOptions } from './armRetry';

export interface ArmClientOptions {
  /** Resource Manager's origin (`config.fabric.armEndpoint`). */
  endpoint: string;
  credential: TokenCredential;
  clock?: Clock;
  logger?: Logger;
  /** Poll interval of a long-running operation when ARM sends no `Retry-After` (default 5 s). */
  pollIntervalMs?: number;
  /** How long a long-running operation may take before it is a Timeout (default 30 min). */
  maxWaitMs?: number;
  retry?: ArmRetryOptions;
  httpClient?: HttpClient;
}

export interface ArmResponse {
  status: number;
  headers: PipelineResponse['headers'];
  body: unknown;
  bodyText?: string;
}

export interface Conditions {
  /** Sent as `If-Match`: ARM answers 412 when the resource's ETag differs. */
  ifMatch?: string;
  /** Sent as `If-None-Match` (`*`: only create). */
  ifNoneMatch?: string;
}

export interface ArmRequest extends Conditions {
  method: HttpMethods;
  /** A path under the endpoint (`/subscriptions/…`) or an absolute URL ARM gave (nextLink, polling). */
  path: string;
  /** Added as `api-version` unless the path is an absolute URL. */
  apiVersion?: string;
  query?: Record<string, string>;
  body?: unknown;
}

function parseBody(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class ArmClient {
  readonly endpoint: URL;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pollIntervalMs: number;
  readonly maxWaitMs: number;
  readonly #pipeline: Pipeline;
  readonly #http: HttpClient;

  constructor(options: ArmClientOptions) {
    this.endpoint = checkArmEndpoint(options.endpoint);
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger ?? silentLogger;
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.maxWaitMs = options.maxWaitMs ?? 30 * 60_000;
    this.#http = options.httpClient ?? createDefaultHttpClient();
    this.#pipeline = createEmptyPipeline();
    this.#pipeline.addPolicy(armRetryPolicy(this.clock, this.logger, options.retry), { phase: 'Retry' });
    this.#pipeline.addPolicy(armAuthPolicy(options.credential, this.endpoint, this.clock), { phase: 'Sign' });
  }

  #url(req: ArmRequest): string {
    if (/^https?:\/\//i.test(req.path)) return req.path;
    const url = new URL(req.path, this.endpoint);
    if (req.apiVersion) url.searchParams.set('api-version', req.apiVersion);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    return url.toString();
  }

  /** One request (retried by the pipeline); any status comes back, nothing is thrown for 4xx/5xx. */
  async send(req: ArmRequest): Promise<ArmResponse> {
    const headers = createHttpHeaders({
      Accept: 'application/json',
      'User-Agent': `tidemark/${TIDEMARK_VERSION}`,
    });
    if (req.body !== undefined) headers.set('Content-Type', 'application/json');
    if (req.ifMatch !== undefined) headers.set('If-Match', req.ifMatch);
    if (req.ifNoneMatch !== undefined) headers.set('If-None-Match', req.ifNoneMatch);
    const request = createPipelineRequest({
      url: this.#url(req),
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      allowInsecureConnection: this.endpoint.protocol === 'http:',
    });
    let response: PipelineResponse;
    try {
      response = await this.#pipeline.sendRequest(this.#http, request);
    } catch (err) {
      if (err instanceof TidemarkError) throw err;
      throw new TidemarkError(
        'StorageUnavailable',
        `Azure Resource Manager is unreachable (${req.method} ${req.path.split('?')[0]}): ${(err as Error).message}`,
        { cause: err, retryable: true },
      );
    }
    return {
      status: response.status,
      headers: response.headers,
      body: parseBody(response.bodyAsText ?? undefined),
      bodyText: response.bodyAsText ?? undefined,
    };
  }

  /** Throws the mapped error of a response that is not 2xx. */
  check(req: ArmRequest, response: ArmResponse): ArmResponse {
    if (response.status >= 200 && response.status < 300) return response;
    throw armError({
      status: response.status,
      body: parseArmError(response.bodyText),
      method: req.method,
      path: req.path.split('?')[0]!,
    });
  }

  /** The resource, or undefined on 404. */
  async get<T>(path: string, apiVersion: string, query?: Record<string, string>): Promise<T | undefined> {
    const req: ArmRequest = { method: 'GET', path, apiVersion, query };
    const response = await this.send(req);
    if (response.status === 404) return undefined;
    return this.check(req, response).body as T;
  }

  /** Every item of a list, following `nextLink`; undefined when the scope (a resource group) is gone. */
  async list<T>(path: string, apiVersion: string, query?: Record<string, string>): Promise<T[] | undefined> {
    const out: T[] = [];
    let req: ArmRequest = { method: 'GET', path, apiVersion, query };
    for (;;) {
      const response = await this.send(req);
      if (response.status === 404 && out.length === 0) return undefined;
      const page = this.check(req, response).body as { value?: T[]; nextLink?: string } | undefined;
      out.push(...(page?.value ?? []));
      if (!page?.nextLink) return out;
      req = { method: 'GET', path: page.nextLink };
    }
  }

  /** PUT, awaited to its end; the resource as ARM has it afterwards. */
  async put<T>(path: string, apiVersion: string, body: unknown, conditions: Conditions = {}): Promise<T> {
    const req: ArmRequest = { method: 'PUT', path, apiVersion, body, ...conditions };
    const initial = this.check(req, await this.send(req));
    const result = (await awaitOperation(this, req, initial)) as T;
    this.logger.info('ARM resource written', { method: 'PUT', path });
    return result;
  }

  /** DELETE, awaited to its end; false when ARM says there was nothing (204). */
  async delete(path: string, apiVersion: string, conditions: Conditions = {}): Promise<boolean> {
    const req: ArmRequest = { method: 'DELETE', path, apiVersion, ...conditions };
    const response = await this.send(req);
    if (response.status === 404) return false;
    const initial = this.check(req, response);
    await awaitOperation(this, req, initial);
    if (initial.status !== 204) this.logger.info('ARM resource deleted', { path });
    return initial.status !== 204;
  }

  /**
   * An action (POST …/start), awaited to its end; its result (armLro.ts). The result is never logged:
   * it may be a secret (beginGetAccess answers a SAS URL).
   */
  async post(path: string, apiVersion: string, body?: unknown, options?: OperationOptions): Promise<unknown> {
    const req: ArmRequest = { method: 'POST', path, apiVersion, body };
    const initial = this.check(req, await this.send(req));
    const result = await awaitOperation(this, req, initial, options);
    this.logger.info('ARM action done', { method: 'POST', path });
    return result;
  }
}
