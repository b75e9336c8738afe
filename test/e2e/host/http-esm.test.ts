/** An ESM app ("type": "module", `import { app } from '@azure/functions'`) loads and serves HTTP. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, expect, it, vi } from 'vitest';

import { RecordingLogger } from '../../../shared/logger';
import { type HostHandle, startHost } from '../../../host/startHost';

let host: HostHandle;
let warnings: unknown[][];

beforeAll(async () => {
  const warn = vi.spyOn(console, 'warn');
  try {
    host = startHost({
      appDir: path.resolve(__dirname, '../../fixtures/http-app-esm'),
      port: 0,
      logger: new RecordingLogger(),
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-esm-')),
      settings: {},
    });
    await host.ready;
  } finally {
    warnings = warn.mock.calls.slice();
    warn.mockRestore();
  }
});

afterAll(async () => {
  await host?.dispose();
});

it('loads an ESM app and serves its routes', async () => {
  expect(warnings.flat().join('\n')).not.toMatch(/test mode/i);
  expect(host.functions.map((f) => f.metadata.name)).toEqual(['esmHello']);
  const res = await fetch(`${host.url}/api/esm/ada`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ message: 'hello ada from ESM', esm: true });
});
