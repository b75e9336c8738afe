/**
 * host.blob: detection latency of the local host's blob trigger against a real Azurite. 200 small
 * blobs are uploaded about 20 ms apart to test/fixtures/blob-app-bench (default host.json); each
 * latency is handler start − upload completion (both performance.now() in this process; the fixture
 * app runs in-process). The baseline is the p99 of a plain SDK upload round trip to the same Azurite.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';

import { startAzurite } from '../../host/azurite';
import { startHost } from '../../host/startHost';
import { silentLogger } from '../../shared/logger';
import type { BenchResult } from './types';

const UPLOADS = 200;
const SPACING_MS = 20;

function fixtureApp(): string {
  const candidates = [
    path.resolve('test/fixtures/blob-app-bench'),
    path.resolve(__dirname, '../fixtures/blob-app-bench'),
    path.resolve(__dirname, '../../../test/fixtures/blob-app-bench'),
  ];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'host.json')));
  if (!found) throw new Error(`The blob-app-bench fixture is not in any of: ${candidates.join(', ')}`);
  return found;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] as number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function benchHostBlob(): Promise<BenchResult[]> {
  const azurite = await startAzurite();
  const id = crypto.randomBytes(4).toString('hex');
  const container = `bench-${id}`;
  const settings: Record<string, string> = {
    AzureWebJobsStorage: azurite.connectionString,
    AzureFunctionsWebHost__hostid: `bench-${id}`,
    BENCH_CONTAINER: container,
  };
  const host = startHost({
    appDir: fixtureApp(),
    port: 0,
    logger: silentLogger,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-blob-')),
    useProcessEnv: false,
    settings,
  });
  try {
    await host.ready;
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const baselineContainer = service.getContainerClient(`baseline-${id}`);
    await baselineContainer.createIfNotExists();
    const watched = service.getContainerClient(container);
    await watched.createIfNotExists();
    const body = Buffer.alloc(512, 7);

    const roundTrips: number[] = [];
    for (let i = 0; i < UPLOADS; i++) {
      const t0 = performance.now();
      await baselineContainer.getBlockBlobClient(`b${i}`).upload(body, body.length);
      roundTrips.push(performance.now() - t0);
    }

    const app = ((globalThis as Record<string, unknown>).__blobBench ??= { starts: new Map(), runs: 0 }) as {
      starts: Map<string, number>;
      runs: number;
    };
    const done = new Map<string, number>();
    const uploads: Promise<void>[] = [];
    for (let i = 0; i < UPLOADS; i++) {
      const name = `d${String(i).padStart(4, '0')}`;
      uploads.push(
        watched
          .getBlockBlobClient(name)
          .upload(body, body.length)
          .then(() => void done.set(`${container}/${name}`, performance.now())),
      );
      await sleep(SPACING_MS);
    }
    await Promise.all(uploads);
    const fired = (): string[] => [...done.keys()].filter((k) => app.starts.has(k));
    const deadline = Date.now() + 30_000;
    while (fired().length < UPLOADS && Date.now() < deadline) await sleep(50);
    if (fired().length < UPLOADS)
      throw new Error(`Only ${fired().length} of ${UPLOADS} blobs fired within 30 s.`);
    await sleep(1_000); // anything firing twice would show up by now
    if (app.runs !== UPLOADS) throw new Error(`${app.runs - UPLOADS} blob versions fired more than once.`);
    const latencies = [...done].map(([key, at]) => (app.starts.get(key) as number) - at);

    const value = p99(latencies);
    const baseline = p99(roundTrips);
    return [
      {
        name: 'host.blob.latency.p99_ms',
        value,
        unit: 'ms',
        better: 'lower',
        goal: 1000,
        baseline,
        ratio: value / baseline,
      },
    ];
  } finally {
    await host.dispose();
    await azurite.stop();
  }
}
