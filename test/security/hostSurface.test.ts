/**
 * The HTTP surface of tidemark's app in the local host, from an attacker's side: which requests get
 * anything without a key, and what an oversized body costs. The functions are enumerated from the
 * host (GET /admin/functions), never listed by hand, so a new function is checked the day it lands.
 * Build first (`npm run build`; npm test does it).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findPortalDir, listPortalFiles } from '../../functions/portal';
import { createApi } from '../../portal/lib/api.js';
import { isTidemarkError } from '../../shared/errors';
import { RecordingLogger } from '../../shared/logger';
import { startHost } from '../../host/startHost';
import { REPO_ROOT, startTidemarkStack, type TidemarkStack } from '../helpers/tidemarkHost';

interface AdminFunction {
  name: string;
  trigger: string;
  invoke_url_template: string | null;
  config: {
    bindings: { type: string; direction?: string; authLevel?: string; methods?: string[]; route?: string }[];
  };
}

/** Functions that need no key, and why. */
const ANONYMOUS: Record<string, string> = {
  health: 'load balancers and uptime probes call it; it says only the version and which regions answer',
  portal: 'static files only; the page asks for the key and sends it on every API call',
};

/** A concrete path for a route template: every parameter filled with a harmless value. */
function concrete(route: string): string {
  return route
    .replace(/\{\*+[^}]+\}/g, 'index.html')
    .replace(/\{(rg|resourceGroup)[^}]*\}/gi, 'keyprobe-rg')
    .replace(/\{(vm|name)[^}]*\}/gi, 'keyprobe-vm')
    .replace(/\{id[^}]*\}/gi, 'keyprobe-id')
    .replace(/\{[^}]+\}/g, 'x');
}

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with node:http, so any header (Host, Origin) can be set. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the host surface of tidemark', () => {
  let stack: TidemarkStack;
  let functions: AdminFunction[];
  const url = (p: string): string => `${stack.host.url}${p}`;

  beforeAll(async () => {
    stack = await startTidemarkStack();
    const res = await fetch(url('/admin/functions'), {
      headers: { 'x-functions-key': stack.host.keys.masterKey },
    });
    expect(res.status).toBe(200);
    functions = (await res.json()) as AdminFunction[];
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  describe('keys on every route', () => {
    const httpFunctions = (): { fn: AdminFunction; authLevel: string; methods: string[]; path: string }[] =>
      functions
        .filter((f) => f.trigger.toLowerCase() === 'httptrigger')
        .map((fn) => {
          const binding = fn.config.bindings.find((b) => b.type.toLowerCase() === 'httptrigger')!;
          const path = new URL(fn.invoke_url_template!).pathname;
          return {
            fn,
            authLevel: String(binding.authLevel ?? 'anonymous').toLowerCase(),
            methods: (binding.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
            path: concrete(path),
          };
        });

    it('every HTTP function is authLevel function (or admin), except health and the portal', () => {
      const all = httpFunctions();
      expect(all.length).toBeGreaterThanOrEqual(15);
      const levels = Object.fromEntries(all.map((f) => [f.fn.name, f.authLevel]));
      for (const [name, level] of Object.entries(levels)) {
        if (name in ANONYMOUS) expect(level, name).toBe('anonymous');
        else expect(['function', 'admin'], `${name} is ${level}`).toContain(level);
      }
      expect(Object.keys(ANONYMOUS).every((name) => name in levels)).toBe(true);
      // Everything else the app registers is a trigger no request reaches.
      const unreachable = /^(blobtrigger|timertrigger|orchestrationtrigger|activitytrigger|entitytrigger)$/;
      for (const f of functions.filter((fn) => fn.trigger.toLowerCase() !== 'httptrigger')) {
        expect(f.trigger.toLowerCase(), f.name).toMatch(unreachable);
      }
    });

    it('every keyed route and method answers 401 without a key, with a wrong one, and with one in ?code=', async () => {
      const wrong = `${stack.host.keys.functionKey.slice(0, -1)}x`;
      let checked = 0;
      for (const f of httpFunctions().filter((h) => h.authLevel !== 'anonymous')) {
        for (const method of f.methods) {
          const body = method === 'GET' || method === 'HEAD' ? undefined : '{}';
          const init = (headers: Record<string, string> = {}): RequestInit => ({
            method,
            body,
            headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
          });
          for (const [what, res] of [
            ['no key', await fetch(url(f.path), init())],
            ['a wrong key', await fetch(url(f.path), init({ 'x-functions-key': wrong }))],
            ['a wrong ?code=', await fetch(url(`${f.path}?code=${wrong}`), init())],
            [
              'a system key',
              await fetch(
                url(f.path),
                init({ 'x-functions-key': stack.host.keys.systemKey('durabletask_extension') }),
              ),
            ],
          ] as const) {
            expect(res.status, `${method} ${f.path} with ${what}`).toBe(401);
            expect(await res.text(), `${method} ${f.path} with ${what}: no data`).toBe('');
          }
          // The right key gets past the gate (whatever the function then says of this fake VM).
          const ok = await fetch(url(f.path), init({ 'x-functions-key': stack.host.keys.functionKey }));
          expect(ok.status, `${method} ${f.path} with the key`).not.toBe(401);
          await ok.arrayBuffer();
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(14);
    });

    it('the portal serves its static files and nothing else without a key', async () => {
      const portal = httpFunctions().find((f) => f.fn.name === 'portal')!;
      expect(portal.methods.sort()).toEqual(['GET', 'HEAD']);
      const files = listPortalFiles(findPortalDir(path.join(REPO_ROOT, 'functions'))!);
      expect(files.size).toBeGreaterThan(3);
      for (const file of files.values()) {
        const res = await fetch(url(`/api/portal/${file.name}`));
        expect(res.status, file.name).toBe(200);
        // Byte for byte the file on disk: no data of the deployment is templated in.
        expect(
          Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(file.absolutePath)),
          file.name,
        ).toBe(true);
      }
      for (const probe of [
        '../vms',
        '..%2Fvms',
        '%2e%2e/host.json',
        '../../local.settings.json',
        'lib/../../vms',
        'api.d.ts',
        '.data/host/keys.json',
      ]) {
        const res = await fetch(url(`/api/portal/${probe}`));
        expect([404, 401], probe).toContain(res.status);
        expect(await res.text(), probe).not.toMatch(/functionKey|masterKey|"vms"|AccountKey/);
      }
      // The page's API client sends the key it was given on every call; without it the API says 401.
      const seen: Headers[] = [];
      const api = createApi({
        base: url('/api/'),
        getKey: () => stack.host.keys.functionKey,
        fetch: (async (input: string, init: RequestInit) => {
          seen.push(new Headers(init.headers));
          return fetch(input, init);
        }) as typeof fetch,
      });
      expect(await api.request('GET', 'vms')).toHaveProperty('vms');
      expect(seen[0]?.get('x-functions-key')).toBe(stack.host.keys.functionKey);
      expect((await fetch(url('/api/vms'))).status).toBe(401);
    });

    it('admin endpoints need the master key', async () => {
      const { functionKey, masterKey } = stack.host.keys;
      const system = stack.host.keys.systemKey('durabletask_extension');
      for (const p of ['/admin/host/status', '/admin/functions']) {
        for (const [what, key] of [
          ['no key', undefined],
          ['the function key', functionKey],
          ['a system key', system],
        ] as const) {
          const res = await fetch(url(p), { headers: key ? { 'x-functions-key': key } : {} });
          expect(res.status, `${p} with ${what}`).toBe(401);
        }
        expect((await fetch(url(`${p}?code=${masterKey}`))).status, p).toBe(200);
      }
    });

    it('the durable webhooks need the durabletask system key or the master key', async () => {
      const { functionKey, masterKey } = stack.host.keys;
      const system = stack.host.keys.systemKey('durabletask_extension');
      for (const p of [
        '/runtime/webhooks/durabletask/instances',
        '/runtime/webhooks/durabletask/instances/enable-x-y',
        '/runtime/webhooks/durabletask/entities/x',
      ]) {
        for (const [what, key] of [
          ['no key', undefined],
          ['the function key', functionKey],
          ['the blobs system key', stack.host.keys.systemKey('blobs_extension')],
        ] as const) {
          const res = await fetch(url(p), { headers: key ? { 'x-functions-key': key } : {} });
          expect(res.status, `${p} with ${what}`).toBe(401);
          expect(await res.text()).not.toContain('instanceId');
        }
        for (const key of [system, masterKey]) {
          expect((await fetch(url(`${p}?code=${encodeURIComponent(key)}`))).status, p).not.toBe(401);
        }
      }
      const terminate = await fetch(url('/runtime/webhooks/durabletask/instances/x/terminate'), {
        method: 'POST',
        headers: { 'x-functions-key': functionKey },
      });
      expect(terminate.status).toBe(401);
      // The blobs extension's webhook: its own system key only.
      const blobs = await fetch(url('/runtime/webhooks/blobs?functionName=Host.Functions.applyDelta'), {
        method: 'POST',
        headers: { 'x-functions-key': functionKey },
        body: '[]',
      });
      expect(blobs.status).toBe(401);
    });

    it('the keyless durable client endpoint refuses browsers (cross-site requests, DNS rebinding)', async () => {
      const list = url('/durabletask/instances');
      // The durable client, a local process, gets an answer without a key.
      expect((await raw(list)).status).toBe(200);
      expect((await raw(list, { headers: { host: 'localhost' } })).status).toBe(200);
      for (const [what, headers] of [
        ['a cross-site page', { origin: 'https://evil.example' }],
        ['a page of the same origin', { origin: stack.host.url }],
        ['a navigation or <img>', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }],
        ['a rebound DNS name', { host: 'evil.example:7071' }],
      ] as const) {
        const got = await raw(list, { headers });
        expect(got.status, what).toBe(403);
        expect(got.headers['content-type']).toBe('application/problem+json');
        const purge = await raw(url('/durabletask/instances/x/terminate'), {
          method: 'POST',
          headers,
          body: '',
        });
        expect(purge.status, `terminate from ${what}`).toBe(403);
      }
    });
  });

  describe('request body limits', () => {
    const LIMIT = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'host.json'), 'utf8')).extensions.http
      .maxRequestBodySize as number;

    it("host.json sets tidemark's body limit well under Azure's 100 MB", () => {
      expect(LIMIT).toBeGreaterThanOrEqual(1024 * 1024);
      expect(LIMIT).toBeLessThanOrEqual(16 * 1024 * 1024);
    });

    it('a declared oversized body gets 413 problem+json at once, before the function runs', async () => {
      const before = stack.logger.records.filter((r) => r.msg.startsWith("Executed 'putVm'")).length;
      // Content-Length says 1 GiB: the answer comes before (almost) any of it is sent.
      const got = await new Promise<Raw & { sentBytes: number }>((resolve, reject) => {
        const req = http.request(url('/api/vms/big-rg/big-vm'), {
          method: 'PUT',
          headers: {
            'x-functions-key': stack.host.keys.functionKey,
            'content-type': 'application/json',
            'content-length': String(1024 ** 3),
          },
        });
        let sent = 0;
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = (): void => {
          while (sent < 1024 ** 3 && !req.destroyed) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
        };
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sentBytes: sent });
          });
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
        req.flushHeaders();
        pump();
      });
      expect(got.status).toBe(413);
      expect(got.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(got.body)).toMatchObject({
        status: 413,
        title: 'Payload Too Large',
        code: 'PayloadTooLarge',
      });
      expect(got.sentBytes).toBeLessThan(256 * 1024 * 1024);
      const after = stack.logger.records.filter((r) => r.msg.startsWith("Executed 'putVm'")).length;
      expect(after).toBe(before);
    });

    it('a chunked body that grows past the limit gets 413 without the host holding it', async () => {
      // 512 MiB sent chunked (no Content-Length): the host must not buffer it; its heap stays flat.
      const heapBefore = process.memoryUsage().rss;
      let sent = 0;
      async function* body(): AsyncGenerator<Uint8Array> {
        const chunk = new Uint8Array(1024 * 1024).fill(0x20);
        for (let i = 0; i < 512; i++) {
          sent += chunk.length;
          yield chunk;
        }
      }
      const res = await fetch(url('/api/alerts'), {
        method: 'POST',
        headers: { 'x-functions-key': stack.host.keys.functionKey, 'content-type': 'application/json' },
        body: body() as unknown as RequestInit['body'],
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { status: number }).status).toBe(413);
      // The answer came once the limit was crossed, not after the whole upload.
      expect(sent).toBeLessThan(512 * 1024 * 1024);
      expect(process.memoryUsage().rss - heapBefore).toBeLessThan(200 * 1024 * 1024);
    });

    it('a body just under the limit still reaches the function; the host keeps serving', async () => {
      const res = await fetch(url('/api/alerts'), {
        method: 'POST',
        headers: { 'x-functions-key': stack.host.keys.functionKey, 'content-type': 'application/json' },
        body: `{"pad":"${'x'.repeat(LIMIT - 20)}"}`,
      });
      expect(res.status).toBe(400); // not an alert: the function ran and said so
      expect((await fetch(url('/api/health'))).status).toBe(200);
    });
  });
});

describe('host.json extensions.http.maxRequestBodySize', () => {
  /** The HTTP fixture app with another host.json (node_modules linked so the app resolves). */
  function fixtureWith(http: Record<string, unknown>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-bodylimit-'));
    fs.cpSync(path.join(REPO_ROOT, 'test/fixtures/http-app'), dir, { recursive: true });
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    fs.writeFileSync(path.join(dir, 'host.json'), JSON.stringify({ version: '2.0', extensions: { http } }));
    return dir;
  }

  it('sets the limit: a byte over it is 413, the limit itself passes', async () => {
    const host = startHost({
      appDir: fixtureWith({ maxRequestBodySize: 1000 }),
      port: 0,
      logger: new RecordingLogger(),
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-bodylimit-keys-')),
      settings: {},
    });
    try {
      await host.ready;
      const echo = (n: number): Promise<Response> =>
        fetch(`${host.url}/api/echo`, { method: 'POST', body: Buffer.alloc(n, 0x61) });
      expect((await echo(1000)).status).toBe(200);
      const over = await echo(1001);
      expect(over.status).toBe(413);
      expect(await over.json()).toMatchObject({ status: 413, detail: expect.stringContaining('1000 bytes') });
    } finally {
      await host.dispose();
    }
  });

  it('refuses a bad value at start, naming the key', async () => {
    for (const bad of [0, -1, 'big', 1.5]) {
      const host = startHost({
        appDir: fixtureWith({ maxRequestBodySize: bad }),
        port: 0,
        logger: new RecordingLogger(),
        dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-bodylimit-keys-')),
        settings: {},
      });
      const err = await host.ready.then(
        () => undefined,
        (e: unknown) => e,
      );
      await host.dispose().catch(() => undefined);
      expect(isTidemarkError(err), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/maxRequestBodySize/);
    }
  });
});
