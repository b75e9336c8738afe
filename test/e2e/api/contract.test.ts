/**
 * The HTTP API's contract, route by route, through tidemark's compiled app in the local host against
 * two Azurites (startWorkflowStack), with a protected VM and an unprotected one:
 *
 * - every HTTP function the host lists has an entry in contracts.ts (route, methods, auth level);
 * - without the function key, or with a wrong one, every route but /api/health and the portal's files
 *   is refused (401) before the function runs;
 * - bad bodies (arbitrary JSON, a wrong value in each field, extra fields, huge strings, deep
 *   nesting, text that is not JSON, a Content-Type that is not JSON, no body), bad path segments and
 *   bad query values are 4xx application/problem+json with `title`, `status` and `detail`, and
 *   `errors[{path, message}]` for a request that failed validation; never 5xx; a body over the
 *   host's limit is 413;
 * - all those requests changed nothing (snapshot.ts);
 * - good requests answer their documented status, and a start the item's state forbids is a 409
 *   saying why.
 *
 * The fuzz is fast-check with a fixed seed (TIDEMARK_CONTRACT_SEED overrides it; a failure prints
 * it with the counterexample). Build first (`npm run build`; npm test does it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fieldPath } from '../../../shared/http/body';
import type { Job } from '../../../shared/jobs/types';
import { REPO_ROOT } from '../../helpers/tidemarkHost';
import { startWorkflowStack, type WorkflowStack } from '../../helpers/workflowStack';
import {
  type BodyContract,
  badSegments,
  CONTRACTS,
  type FieldPath,
  goodAlert,
  isRecord,
  type RouteContract,
} from './contracts';
import { closeRawAgent, type RawAnswer, rawRequest } from './rawHttp';
import { allPages, type ApiState, readState, scrub } from './snapshot';

const SEED = Number(process.env.TIDEMARK_CONTRACT_SEED ?? 20261126);
/** Runs per property; the huge and deep bodies take fewer. */
const RUNS = 25;
const FEW = 4;

const RG = 'contract-rg';
const PROTECTED = 'prot1';
const UNPROTECTED = 'plain1';
const ALERT_SECRET = 'contract-alert-secret-0123456789';
const MiB = 1024 * 1024;

/** The host's request body limit: host.json `extensions.http.maxRequestBodySize`, else Azure's 100 MiB. */
function bodyLimit(): number {
  const hostJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'host.json'), 'utf8')) as {
    extensions?: { http?: Record<string, unknown> };
  };
  const http = hostJson.extensions?.http ?? {};
  const key = Object.keys(http).find((k) => k.toLowerCase() === 'maxrequestbodysize');
  const limit = key ? http[key] : undefined;
  return typeof limit === 'number' ? limit : 100 * MiB;
}

const BODY_LIMIT = bodyLimit();
/** Huge strings stay well below the limit, so the function (not the host) has to refuse them. */
const HUGE_CHARS = Math.min(1_500_000, Math.floor((BODY_LIMIT - 64 * 1024) / 4));

interface HostFunction {
  name: string;
  trigger: string;
  config: { bindings: { type: string; route?: string; methods?: string[]; authLevel?: string }[] };
}

interface Problem {
  title?: unknown;
  status?: unknown;
  detail?: unknown;
  code?: unknown;
  errors?: unknown;
}

let stack: WorkflowStack;
let httpFunctions: HostFunction[] = [];
let before: ApiState;
let jobIds: string[] = [];
let portalFiles: string[] = [];

// ------------------------------------------------------------------------------------------ requests

interface Send {
  method: string;
  path: string;
  body?: string | Buffer;
  /** Default: application/json when there is a body; null: none. */
  contentType?: string | null;
  /** Default: the function key; null: none. */
  key?: string | null;
  headers?: Record<string, string>;
}

function send(request: Send): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...request.headers };
  const key = request.key === undefined ? stack.host.keys.functionKey : request.key;
  if (key !== null) headers['x-functions-key'] = key;
  const contentType =
    request.contentType === undefined
      ? request.body !== undefined
        ? 'application/json'
        : null
      : request.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  return rawRequest(stack.host.url, {
    method: request.method,
    path: request.path,
    headers,
    body: request.body,
  });
}

async function getJson(path: string): Promise<Record<string, unknown>> {
  const answer = await send({ method: 'GET', path });
  if (answer.status !== 200 || !isRecord(answer.json)) {
    throw new Error(`GET ${path}: ${answer.status} ${answer.text.slice(0, 500)}`);
  }
  return answer.json;
}

/** The path of `contract` with its parameters filled: the target VM, a job, the portal's page. */
function pathOf(contract: RouteContract, values: Record<string, string> = {}): string {
  const vm = contract.target === 'unprotected' ? UNPROTECTED : PROTECTED;
  const defaults: Record<string, string> = { rg: RG, vm, id: jobIds[0] ?? 'none', path: '' };
  const route = contract.route.replace(/\{\*?(\w+)\}/g, (_m, name: string) => {
    const value = values[name] ?? defaults[name];
    return value === undefined ? '' : value;
  });
  return `/api/${route}`;
}

/** The alert hook's secret header, for the alert route. */
function secretHeaders(contract: RouteContract): Record<string, string> {
  return contract.route === 'alerts' ? { 'x-tidemark-alert-secret': ALERT_SECRET } : {};
}

/** What a valid request of `contract` sends: its good body (or none), the alert secret. */
function goodRequest(contract: RouteContract, method: string): Send {
  const headers = secretHeaders(contract);
  const body = contract.body ? JSON.stringify(contract.body.good) : undefined;
  return { method, path: pathOf(contract), ...(body !== undefined ? { body } : {}), headers };
}

// ------------------------------------------------------------------------------------------- checks

/** A 4xx problem+json with title, status and detail, and field errors for a failed validation. */
function expectProblem(answer: RawAnswer, allowed: readonly number[], what: string): Problem {
  const label = `${what} → ${answer.status} ${answer.contentType} ${answer.text.slice(0, 300)}`;
  expect(answer.status, label).toBeLessThan(500);
  expect(allowed, label).toContain(answer.status);
  expect(answer.contentType, label).toMatch(/^application\/problem\+json/);
  const problem = answer.json as Problem;
  expect(isRecord(problem), label).toBe(true);
  expect(typeof problem.title, label).toBe('string');
  expect(problem.status, label).toBe(answer.status);
  expect(typeof problem.detail, label).toBe('string');
  if (problem.code === 'InvalidRequest') {
    expect(Array.isArray(problem.errors), label).toBe(true);
    const errors = problem.errors as unknown[];
    expect(errors.length, label).toBeGreaterThan(0);
    for (const e of errors) {
      expect(isRecord(e) && typeof e.path === 'string' && typeof e.message === 'string', label).toBe(true);
    }
  }
  return problem;
}

/** Field errors of a 400: their paths. */
function errorPaths(problem: Problem): string[] {
  return Array.isArray(problem.errors) ? (problem.errors as { path: string }[]).map((e) => e.path) : [];
}

/** Whether an error path names `field`, a field inside it, or the object holding it. */
function names(path: string, field: string): boolean {
  const within = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);
  return within(path, field) || within(field, path);
}

async function property<T>(
  what: string,
  arb: fc.Arbitrary<T>,
  runs: number,
  check: (value: T) => Promise<void>,
) {
  try {
    await fc.assert(fc.asyncProperty(arb, check), { seed: SEED, numRuns: runs, endOnFailure: true });
  } catch (err) {
    throw new Error(`${what} (TIDEMARK_CONTRACT_SEED=${SEED}):\n${(err as Error).message}`, { cause: err });
  }
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** `body` with the value at `path` replaced. */
function withField(body: Record<string, unknown>, path: FieldPath, value: unknown): Record<string, unknown> {
  const out = clone(body);
  let at: Record<string | number, unknown> = out;
  path.forEach((part, i) => {
    if (i === path.length - 1) at[part] = value;
    else {
      const next = at[part];
      at = (typeof next === 'object' && next !== null ? next : (at[part] = {})) as Record<
        string | number,
        unknown
      >;
    }
  });
  return out;
}

/** JSON text of `body` with the value at `path` replaced by raw JSON `text` (too deep to stringify). */
function withRawField(body: Record<string, unknown>, path: FieldPath, text: string): string {
  const marker = '__contract_raw_value__';
  return JSON.stringify(withField(body, path, marker)).replace(`"${marker}"`, text);
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function deepJson(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

// --------------------------------------------------------------------------------------------- stack

beforeAll(async () => {
  stack = await startWorkflowStack({
    // No recovery point is cut during the test but those the workflows cut themselves.
    TIDEMARK_RECOVERY_POINT_SCHEDULE: '0 0 0 1 1 *',
    TIDEMARK_ALERT_SECRET: ALERT_SECRET,
  });
  await stack.protectVm({ resourceGroup: RG, vm: PROTECTED });
  const put = await stack.api('PUT', `vms/${RG}/${UNPROTECTED}`, {
    region: 'eastus',
    vnet: `${RG}-vnet`,
    subnet: 'default',
    size: 'Standard_B1s',
    disks: [{ name: 'os', sizeGiB: 8 / 1024 }],
  });
  expect(put.status, JSON.stringify(put.body)).toBe(201);
  // Its agent publishes its NBD endpoint: wait, so the snapshot has it.
  await stack.nbdOf(RG, UNPROTECTED);
  const functions = await rawRequest(stack.host.url, {
    method: 'GET',
    path: '/admin/functions',
    headers: { 'x-functions-key': stack.host.keys.masterKey },
  });
  httpFunctions = (functions.json as HostFunction[]).filter((f) => f.trigger === 'httpTrigger');
  before = await readState({ stack, getJson });
  jobIds = (before.jobs as Job[]).map((j) => j.id);
  portalFiles = fs
    .readdirSync(path.join(REPO_ROOT, 'portal'), { recursive: true, encoding: 'utf8' })
    .map((f) => f.split(path.sep).join('/'));
}, 120_000);

afterAll(async () => {
  closeRawAgent();
  await stack?.stop();
});

// -------------------------------------------------------------------------------------------- tests

describe(`HTTP API contract (seed ${SEED})`, () => {
  it('every HTTP function of the host has a contract with its route, methods and auth level', () => {
    const listed = httpFunctions.map((f) => {
      const trigger = f.config.bindings.find((b) => b.type === 'httpTrigger')!;
      return {
        name: f.name,
        route: trigger.route,
        methods: [...(trigger.methods ?? [])].map((m) => m.toUpperCase()).sort(),
        authLevel: trigger.authLevel,
      };
    });
    const expected = Object.entries(CONTRACTS).map(([name, c]) => ({
      name,
      route: c.route,
      methods: [...c.methods].sort(),
      authLevel: c.authLevel,
    }));
    const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
    expect(listed.sort(byName)).toEqual(expected.sort(byName));
  });

  describe('function keys', () => {
    it.each(Object.entries(CONTRACTS))(
      '%s: 401 without the key or with a wrong one',
      async (_name, contract) => {
        for (const method of contract.methods) {
          const good = goodRequest(contract, method);
          if (contract.authLevel === 'anonymous') {
            for (const key of [null, 'wrong-key']) {
              const answer = await send({ ...good, key });
              expect(answer.status, `${method} ${good.path} key ${key}`).toBeLessThan(400);
            }
            continue;
          }
          const wrongInQuery = `${good.path}${good.path.includes('?') ? '&' : '?'}code=wrong-key`;
          for (const attempt of [
            { ...good, key: null },
            { ...good, key: 'wrong-key' },
            { ...good, key: `${stack.host.keys.functionKey}x` },
            { ...good, key: null, path: wrongInQuery },
          ]) {
            const answer = await send(attempt);
            const label = `${method} ${attempt.path} key ${attempt.key}`;
            expect(answer.status, label).toBe(401);
            // The host refuses it before any function runs: with an empty body, as the Functions host
            // does in Azure, or with problem+json.
            if (answer.text !== '') expectProblem(answer, [401], label);
          }
        }
      },
    );

    it('the alert hook also needs its secret (401 problem+json from the function)', async () => {
      const alerts = CONTRACTS.alerts!;
      const attempts: Record<string, string>[] = [{}, { 'x-tidemark-alert-secret': 'wrong' }];
      for (const headers of attempts) {
        const answer = await send({ ...goodRequest(alerts, 'POST'), headers });
        const problem = expectProblem(answer, [401], 'POST /api/alerts without the secret');
        expect(problem.code).toBe('Unauthorized');
      }
      const inQuery = await send({
        ...goodRequest(alerts, 'POST'),
        headers: {},
        path: '/api/alerts?secret=nope',
      });
      expectProblem(inQuery, [401], 'POST /api/alerts?secret=nope');
    });
  });

  describe('bodies', () => {
    const withBody = Object.entries(CONTRACTS).filter(([, c]) => c.body !== undefined);

    it.each(withBody)('%s: bad bodies are 400 problem+json', async (name, contract) => {
      const body = contract.body as BodyContract;
      const method = contract.methods[0]!;
      const good = goodRequest(contract, method);
      const sendable = (value: unknown): boolean => !body.valid?.(value);
      const post = (text: string, contentType?: string | null, query = ''): Promise<RawAnswer> =>
        send({ ...good, path: `${good.path}${query}`, body: text, contentType });

      // Arbitrary JSON that cannot be a valid body.
      await property(
        `${name}: arbitrary JSON`,
        fc.jsonValue({ maxDepth: 4 }).filter((v) => body.certainlyInvalid(v) && sendable(v)),
        RUNS,
        async (value) => {
          expectProblem(
            await post(JSON.stringify(value)),
            [400],
            `${method} ${good.path} ${JSON.stringify(value)}`,
          );
        },
      );

      // A wrong value in each field: the error names it.
      if (body.wrong.length > 0) {
        const wrong = fc
          .constantFrom(...body.wrong)
          .chain((w) =>
            w.values.map((value) => ({ path: w.path, value, body: withField(body.good, w.path, value) })),
          )
          .filter((c) => sendable(c.body));
        await property(`${name}: a wrong field`, wrong, RUNS, async ({ path, body: sent }) => {
          const problem = expectProblem(
            await post(JSON.stringify(sent)),
            [400],
            `${method} ${JSON.stringify(sent)}`,
          );
          expect(problem.code).toBe('InvalidRequest');
          const field = fieldPath(path);
          expect(
            errorPaths(problem).some((p) => names(p, field)),
            `${JSON.stringify(errorPaths(problem))} names ${field}`,
          ).toBe(true);
        });
      }

      // Extra fields: refused by the strict bodies; the alert schema lets them be (dry run: 200).
      const known = new Set([...Object.keys(body.good), ...body.wrong.map((w) => String(w.path[0]))]);
      const extra = fc
        .dictionary(
          fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !known.has(k) && k !== '__proto__'),
          fc.jsonValue({ maxDepth: 2 }),
          { minKeys: 1, maxKeys: 3 },
        )
        .map((fields) => ({ ...body.good, ...fields }))
        .filter(sendable);
      await property(`${name}: extra fields`, extra, RUNS, async (sent) => {
        if (body.strict) {
          const problem = expectProblem(await post(JSON.stringify(sent)), [400], JSON.stringify(sent));
          expect(problem.code).toBe('InvalidRequest');
        } else {
          const answer = await post(JSON.stringify(sent), undefined, '?dryRun=true');
          expect(answer.status, answer.text).toBe(200);
        }
      });
      for (const text of [
        '{"__proto__":{"polluted":true}}',
        '{"constructor":{"prototype":{"polluted":true}}}',
      ]) {
        if (body.strict) expectProblem(await post(text), [400], text);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }

      // Huge strings where values are short, as a key, and as the whole body.
      const huge = fc.record({
        size: fc.integer({ min: Math.min(100_000, HUGE_CHARS), max: HUGE_CHARS }),
        char: fc.constantFrom('x', 'é', '€', '😀'),
        where: fc.constantFrom<FieldPath | 'key' | 'body'>(
          ...(body.bounded.length ? body.bounded : [['x']]),
          'key',
          'body',
        ),
      });
      await property(`${name}: huge strings`, huge, FEW, async ({ size, char, where }) => {
        const long = char.repeat(Math.ceil(size / char.length));
        const text =
          where === 'body'
            ? JSON.stringify(long)
            : where === 'key'
              ? JSON.stringify({ ...body.good, [long]: 1 })
              : JSON.stringify(withField(body.good, where, long));
        const what = `${method} ${good.path} with ${size} × ${char} at ${JSON.stringify(where)}`;
        if (!body.strict && where === 'key') {
          // An unknown key, however long, is ignored by the alert schema: a dry run answers 200.
          expect((await post(text, undefined, '?dryRun=true')).status, what).toBe(200);
        } else expectProblem(await post(text), [400], what);
      });

      // Deep nesting, as the whole body and in a field.
      const deep = fc.record({
        depth: fc.integer({ min: 1_000, max: 50_000 }),
        shape: fc.constantFrom<'array' | 'object'>('array', 'object'),
        inField: fc.boolean(),
      });
      await property(`${name}: deep nesting`, deep, FEW, async ({ depth, shape, inField }) => {
        const nested = deepJson(depth, shape);
        const field = body.wrong[0]?.path ?? ['x'];
        const text = inField ? withRawField(body.good, field, nested) : nested;
        expectProblem(
          await post(text),
          [400],
          `${method} ${good.path} ${shape} ${depth} deep ${inField ? 'in a field' : ''}`,
        );
      });

      // Text that is not JSON (never blank: a blank body means `{}` where the body is optional).
      const notJson = fc
        .oneof(
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
          fc.constantFrom(
            '{',
            '{"a":',
            "{'a':1}",
            'NaN',
            'undefined',
            '{"a":1}}',
            '<xml/>',
            'a=1&b=2',
            '\u0000',
            '[1,]',
          ),
        )
        .filter((t) => t.trim() !== '' && !parsesAsJson(t));
      await property(`${name}: not JSON`, notJson, RUNS, async (text) => {
        const problem = expectProblem(
          await post(text),
          [400],
          `${method} ${good.path} ${JSON.stringify(text)}`,
        );
        expect(errorPaths(problem)).toEqual(['(body)']);
      });

      // A valid body sent as something else than JSON.
      const contentType = fc.oneof(
        fc.constantFrom(
          'text/plain',
          'text/plain; charset=utf-8',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=----contract',
          'application/xml',
          'text/xml',
          'text/json',
          'application/octet-stream',
          'application/jsonp',
          'application/json-seq',
          'json',
          '*/*',
          'application/json, text/plain',
        ),
        fc
          .stringMatching(/^[a-z]{1,12}\/[a-z0-9.+-]{1,20}$/)
          .filter((t) => t !== 'application/json' && !/^application\/.+\+json$/.test(t)),
      );
      await property(`${name}: not sent as JSON`, contentType, RUNS, async (type) => {
        const problem = expectProblem(
          await post(JSON.stringify(body.good), type),
          [400],
          `Content-Type ${type}`,
        );
        expect(errorPaths(problem)).toEqual(['(content-type)']);
      });

      // No Content-Type at all: the body is read as JSON, and refused for what it says.
      const unnamed = JSON.stringify({ ...body.good, 'contract-extra': 1 });
      if (body.strict) {
        const problem = expectProblem(await post(unnamed, null), [400], 'no Content-Type');
        expect(errorPaths(problem)).toEqual(['(body)']);
      } else expect((await post(unnamed, null, '?dryRun=true')).status).toBe(200);

      // No body where one is required.
      if (!body.emptyIsObject) {
        for (const text of ['', '  ', '\n\t']) {
          expectProblem(await post(text), [400], `${method} ${good.path} body ${JSON.stringify(text)}`);
        }
      }
    });

    it(`a body over the host limit (${BODY_LIMIT} bytes) is 413`, async () => {
      const contract = CONTRACTS.putVm!;
      const chunk = Buffer.alloc(MiB, 0x20);
      const answer = await rawRequest(stack.host.url, {
        method: 'PUT',
        path: pathOf(contract),
        headers: { 'x-functions-key': stack.host.keys.functionKey, 'content-type': 'application/json' },
        // Streamed (no Content-Length): the host has to count.
        body: () =>
          Readable.from(
            (function* chunks() {
              for (let sent = 0; sent <= BODY_LIMIT; sent += chunk.length) yield chunk;
              yield Buffer.from('{}');
            })(),
          ),
      });
      // The host refuses it before the function runs (problem+json when it says more than the status).
      expect(answer.status).toBe(413);
      if (answer.text !== '') expectProblem(answer, [413], 'PUT over the body limit');
    });
  });

  describe('path segments', () => {
    const withParams = Object.entries(CONTRACTS).filter(([, c]) => Object.keys(c.params).length > 0);

    it.each(withParams)('%s: bad path segments are 400/404 problem+json', async (name, contract) => {
      const paramNames = Object.keys(contract.params);
      const existing: Record<string, string[]> = {
        resourceGroup: [RG, `${RG}-asr`],
        virtualMachine: [PROTECTED, UNPROTECTED],
        jobId: jobIds,
        portalPath: portalFiles,
      };
      const allowed: readonly number[] =
        contract.params.path === 'portalPath' || contract.params.id === 'jobId' ? [404] : [400, 404];
      const arb = fc.constantFrom(...paramNames).chain((param) =>
        badSegments(contract.params[param]!, existing[contract.params[param]!] ?? []).map((segment) => ({
          param,
          segment,
        })),
      );
      for (const method of contract.methods) {
        // A body that would be valid but for the path: `{}`, or for a PUT an incomplete one.
        const body = method === 'POST' ? '{}' : method === 'PUT' ? '{}' : undefined;
        const headers = secretHeaders(contract);
        await property(`${name}: ${method} path segments`, arb, RUNS, async ({ param, segment }) => {
          const path = pathOf(contract, { [param]: segment.wire });
          const answer = await send({ method, path, headers, ...(body !== undefined ? { body } : {}) });
          if (method === 'HEAD') {
            expect(allowed, `${method} ${path}`).toContain(answer.status);
            return;
          }
          expectProblem(answer, allowed, `${method} ${path} (${param} = ${JSON.stringify(segment.value)})`);
        });
        // Dot segments and empty ones: the URL resolves to another route or none; never a 5xx.
        for (const param of paramNames) {
          for (const wire of ['', '.', '..', '%2E', '%2e%2E']) {
            const path = pathOf(contract, { [param]: wire });
            const answer = await send({ method, path, headers, ...(body !== undefined ? { body } : {}) });
            const label = `${method} ${path} → ${answer.status} ${answer.text.slice(0, 200)}`;
            expect(answer.status, label).toBeLessThan(500);
            if (answer.status >= 400 && method !== 'HEAD') expectProblem(answer, [400, 404], label);
          }
        }
      }
    });

    it('other methods on the routes are 404 problem+json', async () => {
      for (const [method, path] of [
        ['DELETE', `/api/vms/${RG}/${PROTECTED}`],
        ['PATCH', `/api/vms/${RG}/${PROTECTED}`],
        ['GET', `/api/vms/${RG}/${PROTECTED}/failover`],
        ['PUT', '/api/jobs'],
        ['POST', '/api/portal/'],
        ['DELETE', `/api/jobs/${jobIds[0]}`],
      ] as const) {
        expectProblem(await send({ method, path }), [404, 405], `${method} ${path}`);
      }
    });
  });

  describe('queries', () => {
    const withQuery = Object.entries(CONTRACTS).filter(([, c]) => c.query !== undefined);

    it.each(withQuery)('%s: bad query values are 400 naming the parameter', async (name, contract) => {
      const method = contract.methods[0]!;
      const good = goodRequest(contract, method);
      for (const [param, values] of Object.entries(contract.query!.bad)) {
        await property(`${name}: ?${param}=`, values, RUNS, async (value) => {
          const path = `${good.path}?${param}=${encodeURIComponent(value)}`;
          const problem = expectProblem(await send({ ...good, path }), [400], `${method} ${path}`);
          expect(errorPaths(problem), `${method} ${path}`).toContain(param);
        });
      }
      // Every bad parameter at once: each one named.
      const params = Object.keys(contract.query!.bad);
      const all = fc.tuple(...params.map((p) => contract.query!.bad[p]!));
      await property(`${name}: every parameter bad`, all, 5, async (values) => {
        const query = params.map((p, i) => `${p}=${encodeURIComponent(values[i]!)}`).join('&');
        const problem = expectProblem(await send({ ...good, path: `${good.path}?${query}` }), [400], query);
        expect(new Set(errorPaths(problem))).toEqual(new Set(params));
      });
    });
  });

  it('after every bad request, nothing changed', async () => {
    const after = await readState({ stack, getJson });
    expect(after).toEqual(before);
  });

  describe('good requests', () => {
    const vmPath = (rg: string, vm: string, sub = ''): string =>
      `/api/vms/${encodeURIComponent(rg)}/${encodeURIComponent(vm)}${sub ? `/${sub}` : ''}`;

    /** POSTs a start: 202 with the job and its Location; waits for the job to succeed. */
    async function start(path: string, body: unknown = {}): Promise<Job> {
      const answer = await send({ method: 'POST', path, body: JSON.stringify(body) });
      expect(answer.status, `POST ${path}: ${answer.text}`).toBe(202);
      expect(answer.contentType).toMatch(/^application\/json/);
      const job = (answer.json as { job: Job }).job;
      expect(job.id).toEqual(expect.any(String));
      expect(answer.headers.location).toBe(`/api/jobs/${encodeURIComponent(job.id)}`);
      return stack.waitForJob(job.id, { timeoutMs: 90_000 });
    }

    it('health, the portal, lists and details answer 200', async () => {
      const health = await send({ method: 'GET', path: '/api/health', key: null });
      expect(health.status).toBe(200);
      expect(health.json).toMatchObject({ status: 'Healthy' });
      const page = await send({ method: 'GET', path: '/api/portal/', key: null });
      expect(page.status).toBe(200);
      expect(page.contentType).toMatch(/^text\/html/);
      expect((await send({ method: 'HEAD', path: '/api/portal/', key: null })).status).toBe(200);
      const redirect = await send({ method: 'GET', path: '/api/portal', key: null });
      expect(redirect.status).toBe(308);
      expect(redirect.headers.location).toBe('portal/');

      const vms = await getJson('/api/vms');
      expect((vms.vms as { name: string }[]).map((v) => v.name).sort()).toEqual(
        [UNPROTECTED, PROTECTED].sort(),
      );
      expect(vms).not.toHaveProperty('nextLink');
      expect(await getJson(vmPath(RG, PROTECTED))).toMatchObject({ protectedItem: { state: 'Protected' } });
      expect(await getJson(vmPath(RG, UNPROTECTED))).toMatchObject({ protectedItem: null });
      const points = await getJson(vmPath(RG, PROTECTED, 'recovery-points'));
      expect((points.recoveryPoints as unknown[]).length).toBeGreaterThan(0);
      const jobs = await getJson('/api/jobs');
      expect((jobs.jobs as Job[]).map((j) => j.id)).toEqual(jobIds);
      expect(await getJson(`/api/jobs/${encodeURIComponent(jobIds[0]!)}`)).toMatchObject({
        id: jobIds[0],
        kind: 'EnableReplication',
        state: 'Succeeded',
      });
      const dryRun = await send({
        method: 'POST',
        path: '/api/alerts?dryRun=true',
        body: JSON.stringify(goodAlert()),
        headers: { 'x-tidemark-alert-secret': ALERT_SECRET },
      });
      expect(dryRun.status, dryRun.text).toBe(200);
    });

    it('PUT creates a VM (201 with its Location); the same PUT again is 200', async () => {
      const body = JSON.stringify({
        region: 'westus',
        vnet: 'contract-west-vnet',
        subnet: 'default',
        size: 'Standard_B1s',
        powerState: 'Stopped',
        disks: [{ name: 'os', sizeGiB: 8 / 1024 }],
      });
      const created = await send({ method: 'PUT', path: vmPath('contract-west-rg', 'spare1'), body });
      expect(created.status, created.text).toBe(201);
      expect(created.headers.location).toBe(vmPath('contract-west-rg', 'spare1'));
      expect(created.json).toMatchObject({ name: 'spare1', region: 'westus', powerState: 'Stopped' });
      const again = await send({ method: 'PUT', path: vmPath('contract-west-rg', 'spare1'), body });
      expect(again.status, again.text).toBe(200);
    });

    it('a start the item state forbids is 409 saying why', async () => {
      for (const [sub, why] of [
        ['commit-failover', /its protected item is Protected; that is possible only when it is FailedOver/],
        ['reprotect', /its protected item is Protected; that is possible only when it is FailoverCommitted/],
        [
          'test-failover-cleanup',
          /its protected item is Protected; that is possible only when it is TestFailedOver/,
        ],
        ['enable-replication', /is already protected \(state Protected/],
      ] as const) {
        const answer = await send({ method: 'POST', path: vmPath(RG, PROTECTED, sub), body: '{}' });
        const problem = expectProblem(answer, [409], `POST ${sub} on a Protected item`);
        expect(problem.code).toBe('Conflict');
        expect(String(problem.detail), sub).toMatch(why);
      }
      // A VM without an item: 404 for a workflow that needs one.
      const unprotected = await send({
        method: 'POST',
        path: vmPath(RG, UNPROTECTED, 'failover'),
        body: '{}',
      });
      expectProblem(unprotected, [404], 'failover of an unprotected VM');
    });

    it('enable replication, test failover and its cleanup start (202 with the Location)', async () => {
      const enabling = start(vmPath(RG, UNPROTECTED, 'enable-replication'));
      const test = await start(vmPath(RG, PROTECTED, 'test-failover'), { recoveryPoint: 'latestProcessed' });
      expect(test.kind).toBe('TestFailover');
      const cleanup = await start(vmPath(RG, PROTECTED, 'test-failover-cleanup'));
      expect(cleanup.kind).toBe('TestFailoverCleanup');
      expect((await enabling).kind).toBe('EnableReplication');
    }, 120_000);

    it('failover, commit, reprotect and disable start (202 with the Location)', async () => {
      expect((await start(vmPath(RG, PROTECTED, 'failover'), { recoveryPoint: 'latest' })).kind).toBe(
        'Failover',
      );
      expect((await start(vmPath(RG, PROTECTED, 'commit-failover'))).kind).toBe('CommitFailover');
      expect((await start(vmPath(RG, PROTECTED, 'reprotect'))).kind).toBe('Reprotect');
      // The failed-over VM is now the protected one, replicating back.
      const disabled = await start(vmPath(`${RG}-asr`, PROTECTED, 'disable-replication'));
      expect(disabled.kind).toBe('DisableReplication');
    }, 180_000);

    it('lists come a page at a time: pages join to the whole list, newest job first', async () => {
      const jobs = (await getJson('/api/jobs?top=1000')).jobs as Job[];
      expect(jobs.length).toBeGreaterThanOrEqual(7);
      expect(await allPages(getJson, '/api/jobs?top=1', 'jobs')).toEqual(jobs);
      expect(await allPages(getJson, '/api/jobs?top=3', 'jobs')).toEqual(jobs);
      const times = jobs.map((j) => j.startedAt ?? '');
      expect([...times].sort().reverse()).toEqual(times);
      const first = await getJson('/api/jobs?top=2&state=Succeeded');
      expect(first.nextLink).toMatch(/^\/api\/jobs\?state=Succeeded&top=2&continuationToken=[A-Za-z0-9_-]+$/);
      expect(first.continuationToken).toEqual(expect.any(String));
      const succeeded = await allPages(getJson, '/api/jobs?top=2&state=Succeeded', 'jobs');
      expect(succeeded).toEqual(jobs.filter((j) => j.state === 'Succeeded'));
      const ofVm = (await allPages(
        getJson,
        `/api/jobs?top=2&vm=${RG}/${PROTECTED.toUpperCase()}`,
        'jobs',
      )) as Job[];
      expect(ofVm.map((j) => j.id)).toEqual(
        jobs.filter((j) => j.vm?.resourceGroup === RG && j.vm?.name === PROTECTED).map((j) => j.id),
      );
      expect(ofVm.length).toBeGreaterThanOrEqual(6);

      // RPO and health move between two reads (heartbeats apply every second): compared without them.
      const vms = (await getJson('/api/vms')).vms as { region: string }[];
      expect(scrub(await allPages(getJson, '/api/vms?top=1', 'vms'))).toEqual(scrub(vms));
      expect(vms.map((v) => v.region)).toEqual([...vms.map((v) => v.region)].sort());
      expect(scrub(await allPages(getJson, '/api/vms?top=1&region=WESTUS', 'vms'))).toEqual(
        scrub(vms.filter((v) => v.region === 'westus')),
      );
    });
  });
});
