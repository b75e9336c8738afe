/**
 * Conformance of the HTTP trigger plugin: the fixture app runs unchanged in the host, in-process,
 * and every check is a real HTTP request.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { isTidemarkError } from '../../../shared/errors';
import { type LogRecord, RecordingLogger } from '../../../shared/logger';
import type { TriggerPlugin } from '../../../host/plugin';
import { type HostHandle, startHost } from '../../../host/startHost';
import { createHttpPlugin } from '../../../host/triggers/http';

const REPO = path.resolve(__dirname, '../../..');
const FIXTURE = path.join(REPO, 'test/fixtures/http-app');

interface AppState {
  events: string[];
}
const appState = (): AppState => (globalThis as unknown as { __httpApp: AppState }).__httpApp;

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tidemark-${prefix}-`));
}

/** A copy of the fixture with another host.json (node_modules linked so the app still resolves). */
function fixtureVariant(hostJson: unknown, extraFiles: Record<string, string> = {}): string {
  const dir = tempDir('http-app');
  fs.cpSync(FIXTURE, dir, { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  fs.writeFileSync(path.join(dir, 'host.json'), JSON.stringify(hostJson));
  for (const [file, text] of Object.entries(extraFiles)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

function executed(logger: RecordingLogger, name: string): LogRecord[] {
  return logger.records.filter((r) => r.msg.startsWith(`Executed '${name}' (`));
}

describe('http trigger', () => {
  let host: HostHandle;
  let logger: RecordingLogger;
  let warnings: unknown[][];
  const url = (p: string): string => `${host.url}${p}`;

  beforeAll(async () => {
    logger = new RecordingLogger();
    const warn = vi.spyOn(console, 'warn');
    try {
      host = startHost({ appDir: FIXTURE, port: 0, logger, dataDir: tempDir('http-keys'), settings: {} });
      await host.ready;
    } finally {
      warnings = warn.mock.calls.slice();
      warn.mockRestore();
    }
  });

  afterAll(async () => {
    await host?.dispose();
  });

  describe('loading', () => {
    it('loads the app without the library falling into test mode', () => {
      expect(warnings.flat().join('\n')).not.toMatch(/test mode/i);
      expect(host.functions.map((f) => f.metadata.name)).toEqual(
        expect.arrayContaining(['hello', 'itemById']),
      );
    });

    it('ran the appStart hook', () => {
      expect(appState().events).toContain('appStart');
    });
  });

  describe('requests and responses', () => {
    it('serves the default route (the function name) with a query value', async () => {
      const res = await fetch(url('/api/hello?name=bob'));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('hello bob');
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.headers.get('x-tidemark-fixture')).toBe('http-app');
    });

    it('keeps idle connections as Kestrel does (130 s) and says so, so clients close first', async () => {
      const res = await fetch(url('/api/hello?name=kept'));
      await res.text();
      expect(res.headers.get('keep-alive')).toBe('timeout=130');
    });

    it('passes a text body', async () => {
      const res = await fetch(url('/api/hello'), { method: 'POST', body: 'alice' });
      expect(await res.text()).toBe('hello alice');
    });

    it('round-trips binary bodies byte for byte', async () => {
      const bytes = crypto.randomBytes(3 * 1024 * 1024 + 7);
      const res = await fetch(url('/api/echo'), {
        method: 'PUT',
        body: bytes,
        headers: { 'content-type': 'application/x-test' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-test');
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    });

    it('round-trips a large body (40 MB)', async () => {
      const bytes = Buffer.alloc(40 * 1024 * 1024, 7);
      const res = await fetch(url('/api/echo'), { method: 'POST', body: bytes });
      expect(res.status).toBe(200);
      expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    });

    it('refuses bodies over 100 MB with 413 and keeps serving', async () => {
      const res = await fetch(url('/api/echo'), {
        method: 'POST',
        body: Buffer.alloc(100 * 1024 * 1024 + 1),
      });
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { status: number }).status).toBe(413);
      expect(executed(logger, 'echo').length).toBe(2);
      expect((await fetch(url('/api/hello?name=after'))).status).toBe(200);
    });

    it('reads JSON bodies and writes JSON responses', async () => {
      const res = await fetch(url('/api/json'), {
        method: 'POST',
        body: JSON.stringify({ a: [1, 2], b: 'x' }),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({ received: { a: [1, 2], b: 'x' }, method: 'POST' });
    });

    it('hands the function an absolute URL, query, route params, headers and body', async () => {
      const res = await fetch(url('/api/request/a/b%20c?x=1&y=two&x=3'), {
        method: 'PATCH',
        body: 'four',
        headers: { 'x-test': 'header value' },
      });
      expect(await res.json()).toEqual({
        method: 'PATCH',
        url: `${host.url}/api/request/a/b%20c?x=1&y=two&x=3`,
        query: { x: '1,3', y: 'two' },
        params: { rest: 'a/b c' },
        header: 'header value',
        bodyLength: 4,
      });
    });

    it('answers 200 with an empty body when the function returns nothing', async () => {
      const res = await fetch(url('/api/nothing'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('0');
      expect(await res.text()).toBe('');
    });

    it.each([201, 400, 404, 418, 500, 503])('passes the status code %i with its body', async (code) => {
      const res = await fetch(url(`/api/status/${code}`));
      expect(res.status).toBe(code);
      expect(await res.text()).toBe(`status ${code}`);
    });

    it('sends no body with 204 and 304', async () => {
      for (const code of [204, 304]) {
        const res = await fetch(url(`/api/status/${code}`));
        expect(res.status).toBe(code);
        expect(await res.text()).toBe('');
        expect(res.headers.get('content-length')).toBeNull();
      }
    });

    it('passes response headers; function headers win over customHeaders', async () => {
      const res = await fetch(url('/api/headers'), { headers: { 'x-test': 'ping' } });
      expect(res.status).toBe(202);
      expect(res.headers.get('x-echo')).toBe('ping');
      expect(res.headers.get('location')).toBe('/api/elsewhere');
      expect(res.headers.get('x-tidemark-fixture')).toBe('overridden');
      expect(await res.text()).toBe('accepted');
    });

    it('writes every cookie as a Set-Cookie line with all its attributes', async () => {
      const res = await fetch(url('/api/cookies'));
      expect(res.headers.getSetCookie()).toEqual([
        'full=a%20b%3Bc; expires=Wed, 02 Jan 2030 03:04:05 GMT; max-age=3600; domain=example.test; path=/app; secure; samesite=strict; httponly',
        'plain=v; path=/',
        'none=1; path=/; secure; samesite=none',
      ]);
    });

    it('supports HEAD where the function lists it: headers, no body', async () => {
      const res = await fetch(url('/api/head'), { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('8');
      expect(await res.text()).toBe('');
    });
  });

  describe('failures', () => {
    it('answers 500 without internals when the handler throws, and logs the error', async () => {
      const res = await fetch(url('/api/boom'));
      expect(res.status).toBe(500);
      const body = await res.text();
      expect(body).toBe('');
      expect(JSON.stringify([...res.headers])).not.toContain('hunter2');
      const [failed, ...more] = executed(logger, 'boom');
      expect(more).toEqual([]);
      expect(failed?.level).toBe('error');
      expect(failed?.msg).toBe("Executed 'boom' (Failed)");
      expect(String(failed?.fields.err)).toContain('secret internal detail: db password is hunter2');
    });

    it('answers 404 for unknown routes, inside and outside the prefix', async () => {
      for (const p of ['/api/nope', '/api', '/api/items', '/hello', '/api/hello/extra']) {
        expect((await fetch(url(p))).status, p).toBe(404);
      }
    });

    it('answers 404 (like the Functions host, not 405) for a method the function does not list', async () => {
      expect((await fetch(url('/api/hello'), { method: 'DELETE' })).status).toBe(404);
      expect((await fetch(url('/api/hello'), { method: 'HEAD' })).status).toBe(404);
      expect((await fetch(url('/api/thing/1'), { method: 'PATCH' })).status).toBe(404);
    });
  });

  describe('routes', () => {
    const route = async (p: string, init?: RequestInit): Promise<{ fn: string; params: unknown }> => {
      const res = await fetch(url(p), init);
      expect(res.status, p).toBe(200);
      return (await res.json()) as { fn: string; params: unknown };
    };

    it('prefers literal over constrained over free parameters, case-insensitively', async () => {
      expect(await route('/api/items/special')).toEqual({ fn: 'itemSpecial', params: {} });
      expect(await route('/API/ITEMS/SPECIAL')).toEqual({ fn: 'itemSpecial', params: {} });
      expect(await route('/api/items/42')).toEqual({ fn: 'itemById', params: { id: '42' } });
      expect(await route('/api/items/abc')).toEqual({ fn: 'itemByName', params: { name: 'abc' } });
      expect(await route('/api/items/a-1')).toEqual({ fn: 'itemAny', params: { any: 'a-1' } });
    });

    it('binds optional, default, catch-all and complex-segment parameters', async () => {
      expect((await route('/api/opt/1')).params).toEqual({ a: '1' });
      expect((await route('/api/opt/1/2')).params).toEqual({ a: '1', b: '2' });
      expect((await route('/api/def')).params).toEqual({ page: '1' });
      expect((await route('/api/def/3')).params).toEqual({ page: '3' });
      expect((await route('/api/files/a/b/c.txt')).params).toEqual({ path: 'a/b/c.txt' });
      expect((await route('/api/files')).params).toEqual({});
      expect((await route('/api/doc/report.v2.pdf')).params).toEqual({ name: 'report.v2', ext: 'pdf' });
    });

    it.each([
      ['guid', '3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'nope'],
      ['bool', 'TRUE', 'yes'],
      ['len', 'abcd', 'abcdef'],
      ['min', '10', '9'],
      ['max', '10', '11'],
      ['range', '2', '4'],
      ['regex', 'ab123', 'ab12'],
    ])('enforces the %s constraint', async (kind, good, bad) => {
      expect((await fetch(url(`/api/c/${kind}/${good}`))).status).toBe(200);
      expect((await fetch(url(`/api/c/${kind}/${bad}`))).status).toBe(404);
    });

    it('routes the same path to different functions by method', async () => {
      expect(await route('/api/thing/7')).toEqual({ fn: 'thingRead', params: { id: '7' } });
      expect(await route('/api/thing/7', { method: 'PUT' })).toEqual({
        fn: 'thingWrite',
        params: { key: '7' },
      });
      expect(await route('/api/thing/7', { method: 'DELETE' })).toEqual({
        fn: 'thingWrite',
        params: { key: '7' },
      });
    });
  });

  describe('auth levels', () => {
    const status = async (p: string, headers: Record<string, string> = {}): Promise<number> =>
      (await fetch(url(p), { headers })).status;

    it('lets anonymous functions through without a key', async () => {
      expect(await status('/api/hello')).toBe(200);
    });

    it('requires the function key (header or code) or the master key for function level', async () => {
      const { functionKey, masterKey } = host.keys;
      const denied = await fetch(url('/api/secure/function'));
      expect(denied.status).toBe(401);
      expect(await denied.text()).toBe('');
      expect(await status('/api/secure/function', { 'x-functions-key': functionKey })).toBe(200);
      expect(await status(`/api/secure/function?code=${encodeURIComponent(functionKey)}`)).toBe(200);
      expect(await status('/api/secure/function', { 'x-functions-key': masterKey })).toBe(200);
      expect(await status('/api/secure/function', { 'x-functions-key': 'wrong' })).toBe(401);
      expect(await status('/api/secure/function?code=wrong')).toBe(401);
    });

    it('requires the master key for admin level', async () => {
      const { functionKey, masterKey } = host.keys;
      expect(await status('/api/secure/admin')).toBe(401);
      expect(await status('/api/secure/admin', { 'x-functions-key': functionKey })).toBe(401);
      expect(await status(`/api/secure/admin?code=${encodeURIComponent(masterKey)}`)).toBe(200);
    });
  });

  describe('hooks and logs', () => {
    it('runs preInvocation and postInvocation hooks around the handler', async () => {
      const res = await fetch(url('/api/hooked'));
      expect(res.headers.get('x-pre-hook')).toBe('wrapped');
      expect(res.headers.get('x-post-hook')).toBe('seen');
      expect(appState().events).toContain('post:hooked:ok');
      expect(appState().events).toContain('post:boom:error');
    });

    it('writes one structured log line per invocation', async () => {
      const before = executed(logger, 'hello').length;
      await fetch(url('/api/hello?name=once'));
      const lines = executed(logger, 'hello').slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'info',
        msg: "Executed 'hello' (Succeeded)",
        fields: {
          function: 'hello',
          outcome: 'Succeeded',
          invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          durationMs: expect.any(Number),
          method: 'GET',
          path: '/api/hello',
        },
      });
    });

    it('routes context.log/warn/error/debug to the host logger at their levels', async () => {
      await fetch(url('/api/logs'));
      const user = logger.records.filter((r) => r.fields.category === 'user' && r.fields.function === 'logs');
      expect(user.map((r) => [r.level, r.msg])).toEqual([
        ['info', 'user info line'],
        ['warn', 'user warn line'],
        ['error', 'user error line'],
        ['debug', 'user debug line'],
      ]);
      expect(user.every((r) => typeof r.fields.invocationId === 'string')).toBe(true);
    });
  });

  describe('host endpoints', () => {
    it('serves admin/host/status and admin/functions to the master key only', async () => {
      const { functionKey, masterKey } = host.keys;
      expect((await fetch(url('/admin/host/status'))).status).toBe(401);
      expect(
        (await fetch(url('/admin/host/status'), { headers: { 'x-functions-key': functionKey } })).status,
      ).toBe(401);
      const status = await fetch(url('/admin/host/status'), { headers: { 'x-functions-key': masterKey } });
      expect(await status.json()).toMatchObject({
        state: 'Running',
        id: host.services.hostId,
        version: expect.stringMatching(/^4\./),
      });
      const list = (await (await fetch(url(`/admin/functions?code=${masterKey}`))).json()) as {
        name: string;
        invoke_url_template: string;
      }[];
      expect(list.find((f) => f.name === 'itemById')?.invoke_url_template).toBe(
        `${host.url}/api/items/{id:int}`,
      );
    });

    it('answers GET / with a small page when no function claims it', async () => {
      const res = await fetch(url('/'));
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/up and running/);
    });
  });
});

describe('http trigger configuration', () => {
  const hosts: HostHandle[] = [];
  const start = async (appDir: string, settings: Record<string, string> = {}, dataDir = tempDir('keys')) => {
    const logger = new RecordingLogger();
    const host = startHost({ appDir, port: 0, logger, dataDir, settings });
    hosts.push(host);
    await host.ready;
    return { host, logger };
  };

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.dispose()));
  });

  it('honours a custom routePrefix, throttling limits, and never retries HTTP invocations', async () => {
    const appDir = fixtureVariant({
      version: '2.0',
      retry: { strategy: 'fixedDelay', maxRetryCount: 3, delayInterval: '00:00:00.01' },
      extensions: { http: { routePrefix: '/v1/x/', maxOutstandingRequests: 1, maxConcurrentRequests: 1 } },
    });
    const { host, logger } = await start(appDir);
    expect(await (await fetch(`${host.url}/v1/x/hello?name=p`)).text()).toBe('hello p');
    expect((await fetch(`${host.url}/api/hello`)).status).toBe(404);

    const slow = fetch(`${host.url}/v1/x/slow?ms=500`);
    await vi.waitFor(() => expect(logger.records.some((r) => r.msg === 'slow request started')).toBe(true));
    expect((await fetch(`${host.url}/v1/x/hello`)).status).toBe(429);
    expect((await slow).status).toBe(200);

    expect((await fetch(`${host.url}/v1/x/boom`)).status).toBe(500);
    await new Promise((r) => setTimeout(r, 100));
    expect(executed(logger, 'boom')).toHaveLength(1);
  });

  it('serves routes at the root with an empty routePrefix', async () => {
    const { host } = await start(
      fixtureVariant({ version: '2.0', extensions: { http: { routePrefix: '' } } }),
    );
    expect(await (await fetch(`${host.url}/hello?name=root`)).text()).toBe('hello root');
    expect((await fetch(`${host.url}/items/5`)).status).toBe(200);
    expect((await fetch(`${host.url}/api/hello`)).status).toBe(404);
    expect((await fetch(`${host.url}/`)).status).toBe(200);
  });

  it('refuses an invalid extensions.http section at startup', async () => {
    const appDir = fixtureVariant({
      version: '2.0',
      extensions: { http: { routePrefix: 5, customHeaders: [] } },
    });
    const host = startHost({ appDir, port: 0, logger: new RecordingLogger(), dataDir: tempDir('keys') });
    hosts.push(host);
    const err = await host.ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    expect((err as Error).message).toMatch(/extensions\.http.*routePrefix/);
  });

  it('refuses two functions on the same route and method at startup', async () => {
    const appDir = fixtureVariant({ version: '2.0' }, {});
    fs.writeFileSync(
      path.join(appDir, 'src/functions/clash.js'),
      "require('@azure/functions').app.http('clash', { methods: ['GET'], route: 'ITEMS/{n:int}', handler: async () => ({}) });\n",
    );
    const host = startHost({ appDir, port: 0, logger: new RecordingLogger(), dataDir: tempDir('keys') });
    hosts.push(host);
    const err = await host.ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTidemarkError(err, 'InvalidConfig')).toBe(true);
    // Which of the two is named first depends on the order the files load.
    expect((err as Error).message).toMatch(
      /route "(ITEMS\/\{n:int\}|items\/\{id:int\})" conflicts with the route/,
    );
    expect((err as Error).message).toMatch(/"clash"/);
    expect((err as Error).message).toMatch(/"itemById"/);
  });

  it('takes the keys from TIDEMARK_FUNCTION_KEY and TIDEMARK_MASTER_KEY', async () => {
    const { host } = await start(FIXTURE, {
      TIDEMARK_FUNCTION_KEY: 'fn-key-1',
      TIDEMARK_MASTER_KEY: 'master-key-1',
    });
    const status = async (p: string, key: string) =>
      (await fetch(`${host.url}${p}`, { headers: { 'x-functions-key': key } })).status;
    expect(await status('/api/secure/function', 'fn-key-1')).toBe(200);
    expect(await status('/api/secure/admin', 'fn-key-1')).toBe(401);
    expect(await status('/api/secure/admin', 'master-key-1')).toBe(200);
  });

  it('generates keys once, keeps them across restarts, and drains in-flight requests on dispose', async () => {
    const dataDir = tempDir('keys');
    const first = await start(FIXTURE, {}, dataDir);
    const keys = { fn: first.host.keys.functionKey, master: first.host.keys.masterKey };
    expect(first.host.keys.generated).toBe(true);

    const slow = fetch(`${first.host.url}/api/slow?ms=400`);
    await vi.waitFor(() =>
      expect(first.logger.records.some((r) => r.msg === 'slow request started')).toBe(true),
    );
    await first.host.dispose();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('slow done');
    expect(appState().events).toContain('appTerminate:appStart');

    const second = await start(FIXTURE, {}, dataDir);
    expect(second.host.keys.generated).toBe(false);
    expect({ fn: second.host.keys.functionKey, master: second.host.keys.masterKey }).toEqual(keys);
    const ok = await fetch(`${second.host.url}/api/secure/function`, {
      headers: { 'x-functions-key': keys.fn },
    });
    expect(ok.status).toBe(200);
  });

  it('gives route values and query values to binding expressions', async () => {
    const seen: Record<string, unknown>[] = [];
    const recorder: TriggerPlugin = {
      name: 'recorder',
      triggerTypes: [],
      bindings: {
        recorder: {
          writeOutput: async (_binding, data, ctx) => {
            seen.push({ ...ctx.bindingData, written: data.string ?? data.json });
          },
        },
      },
      start: async () => undefined,
      stop: async () => undefined,
    };
    const host = startHost({
      appDir: path.join(REPO, 'test/fixtures/http-app-bindings'),
      port: 0,
      logger: new RecordingLogger(),
      dataDir: tempDir('keys'),
      plugins: [createHttpPlugin(), recorder],
    });
    hosts.push(host);
    await host.ready;
    const res = await fetch(`${host.url}/orders/westus/17?priority=high`, {
      method: 'POST',
      body: 'payload',
    });
    expect(res.status).toBe(201);
    expect(seen).toEqual([
      expect.objectContaining({
        region: 'westus',
        id: '17',
        priority: 'high',
        Query: { priority: 'high' },
        Headers: expect.objectContaining({ 'content-length': '7' }),
        written: 'payload',
      }),
    ]);
  });
});
