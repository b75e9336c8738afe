/**
 * Requests per second through the local host's HTTP trigger (a fixture function answering a small
 * JSON body) beside a plain node:http server doing the same work, in the same run, with the same
 * load: 16 keep-alive connections, 3 s per side. The sides alternate in short rounds so background
 * load on the machine weighs on both alike. The load generator runs in a worker thread so its CPU
 * does not share the servers' event loop. A third side, the library floor, hands requests straight to
 * @azure/functions from a plain server: what the library's own conversion leaves for any host.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { createPinoLogger } from '../../shared/pinoLogger';
import type { CoreInvocationContext } from '../../host/core/rpcTypes';
import { type HostHandle, startHost } from '../../host/startHost';
import type { BenchResult } from './types';

const LOAD = { concurrency: 16, warmupMs: 1000, roundMs: 500, rounds: 6 };
const GOAL_RATIO = 0.5;

// Plain JS so the same code runs from the TypeScript sources and from dist.
const LOAD_GENERATOR = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { urls, concurrency, warmupMs, roundMs, rounds } = workerData;
const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: concurrency }));
const one = (i) => new Promise((resolve, reject) => {
  http.get(urls[i], { agent: agents[i] }, (res) => {
    res.resume();
    res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error('status ' + res.statusCode))));
  }).on('error', reject);
});
async function phase(i, ms) {
  let count = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) { await one(i); count++; }
  }));
  return { count, ms: performance.now() - start };
}
(async () => {
  for (let i = 0; i < urls.length; i++) await phase(i, warmupMs);
  const totals = urls.map(() => ({ count: 0, ms: 0 }));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < urls.length; i++) {
      const { count, ms } = await phase(i, roundMs);
      totals[i].count += count;
      totals[i].ms += ms;
    }
  }
  for (const agent of agents) agent.destroy();
  parentPort.postMessage(totals.map((t) => t.count / (t.ms / 1000)));
})().catch((err) => parentPort.postMessage({ error: String((err && err.stack) || err) }));
`;

/** Requests per second for each URL, measured in alternating rounds. */
function requestsPerSecond(urls: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_GENERATOR, { eval: true, workerData: { urls, ...LOAD } });
    worker.once('message', (m: number[] | { error: string }) => {
      void worker.terminate();
      if (Array.isArray(m)) resolve(m);
      else reject(new Error(m.error));
    });
    worker.once('error', reject);
  });
}

/** The same work as the fixture's `bench` function: a small JSON body. */
async function plainServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    const body = JSON.stringify({ ok: true, n: 42 });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/bench`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The least any host must do per request with this library: a plain node:http server that hands
 * the request to the app's programming model (@azure/functions converts it to its HttpRequest, runs
 * the function, converts the HttpResponse back) and writes the answer. No routing, keys, hooks,
 * throttling or log line. Its rps ÷ the plain server's is the ceiling of host.http.rps.ratio.
 */
async function libraryFloorServer(host: HostHandle): Promise<{ url: string; close: () => Promise<void> }> {
  const model = host.services.invoker.programmingModel;
  const fn = host.functions[0];
  if (!model || !fn) throw new Error('The bench fixture registered no function');
  const trigger = Object.keys(fn.metadata.bindings)[0] ?? 'request';
  let n = 0;
  const server = http.createServer((req, res) => {
    const invocationId = `floor-${n++}`;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const coreContext: CoreInvocationContext = {
      invocationId,
      request: {
        invocationId,
        functionId: fn.id,
        inputData: [
          {
            name: trigger,
            data: {
              http: {
                method: req.method,
                url: `http://${req.headers.host}${req.url}`,
                headers,
                query: {},
                params: {},
              },
            },
          },
        ],
        triggerMetadata: {},
      },
      metadata: fn.metadata,
      log: () => undefined,
    };
    void (async () => {
      const invocation = model.getInvocationModel(coreContext);
      const { context, inputs } = await invocation.getArguments();
      const result = await invocation.invokeFunction(context, inputs, fn.callback);
      const answer = (await invocation.getResponse(context, result)).returnValue?.http;
      const body = Buffer.from(answer?.body?.bytes ?? answer?.body?.string ?? '');
      res.writeHead(Number(answer?.statusCode ?? 200), { ...answer?.headers, 'content-length': body.length });
      res.end(body);
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/bench`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The bench fixture (one function, no hooks), from the sources or from dist. */
function fixtureDir(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'test/fixtures/http-app-bench');
    if (fs.existsSync(path.join(candidate, 'host.json'))) return candidate;
  }
  throw new Error(`test/fixtures/http-app-bench not found above ${__dirname}`);
}

export async function benchHostHttp(): Promise<BenchResult[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-bench-http-'));
  const plain = await plainServer();
  const host = startHost({
    appDir: fixtureDir(),
    port: 0,
    dataDir,
    useProcessEnv: false,
    // The invocation log lines are part of the host's work; write them where nobody reads.
    logger: createPinoLogger({ destination: os.devNull, pretty: false }),
  });
  let baseline: number;
  let value: number;
  let floor: number;
  try {
    await host.ready;
    const floorServer = await libraryFloorServer(host);
    try {
      [baseline, value, floor] = (await requestsPerSecond([
        plain.url,
        `${host.url}/api/bench`,
        floorServer.url,
      ])) as [number, number, number];
    } finally {
      await floorServer.close();
    }
  } finally {
    await host.dispose();
    await plain.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  const ratio = value / baseline;
  return [
    {
      name: 'host.http.rps.ratio',
      value: ratio,
      unit: 'ratio',
      better: 'higher',
      goal: GOAL_RATIO,
      baseline,
      ratio,
    },
    { name: 'host.http.rps', value, unit: 'req/s', better: 'higher', baseline, ratio },
    // The ceiling the library's own request/response conversion leaves, and how near the host is.
    {
      name: 'host.http.library_floor.ratio',
      value: floor / baseline,
      unit: 'ratio',
      better: 'higher',
      baseline,
      ratio: floor / baseline,
    },
    {
      name: 'host.http.rps_vs_floor.ratio',
      value: value / floor,
      unit: 'ratio',
      better: 'higher',
      baseline: floor,
      ratio: value / floor,
    },
  ];
}
