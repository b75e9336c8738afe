import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { type HostHandle, startHost } from '../../../host/startHost';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName, useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';
import { getStatus, rpc } from './helpers';

const APP = path.join(__dirname, '../../fixtures/durable-app-multi');

describe('durable: two hosts on one task hub', () => {
  const azurite = useAzurite();

  it('share the work and still get every result exactly right', async () => {
    const hub = uniqueName('multi');
    const start = (): HostHandle =>
      startHost({
        appDir: APP,
        port: 0,
        logger: new RecordingLogger(),
        dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'durable-multi-')),
        useProcessEnv: false,
        settings: { AzureWebJobsStorage: azurite().connectionString, DURABLE_HUB: hub },
      });
    const a = start();
    const b = start();
    try {
      await Promise.all([a.ready, b.ready]);
      const ids = Array.from({ length: 6 }, (_, i) => `sum-${i}`);
      for (const [i, id] of ids.entries()) {
        const host = i % 2 ? b : a;
        const res = await rpc(host, `orchestrators/sumOfSquares/${id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '12',
        });
        expect(res.status).toBe(202);
      }
      for (let i = 0; i < 40; i++) {
        await rpc(i % 2 ? a : b, 'entities/tally/shared?op=add', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '1',
        });
      }
      for (const id of ids) {
        const status = await waitFor(
          async () => {
            const s = await getStatus(a, id);
            return s?.runtimeStatus === 'Completed' || s?.runtimeStatus === 'Failed' ? s : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 100, what: `${id} to finish` },
        );
        expect(status.output).toBe(650 + 3);
      }
      await waitFor(async () => (await (await rpc(b, 'entities/tally/shared')).json()) === 40, {
        timeoutMs: 30_000,
        what: 'the tally to reach 40',
      });
      const ran = [a, b].map(
        (h) =>
          (h.services.logger as RecordingLogger).records.filter((r) => r.fields.function === 'square').length,
      );
      // maxConcurrentActivityFunctions (2) holds on each host.
      for (const h of [a, b]) {
        const spans = (h.services.logger as RecordingLogger).records
          .filter((r) => r.fields.function === 'square')
          .map((r) => {
            const from = Date.parse(String(r.fields.startedAt));
            return [from, from + Number(r.fields.durationMs)] as const;
          });
        const overlap = Math.max(...spans.map(([t]) => spans.filter(([s, e]) => s <= t && t < e).length));
        expect(overlap).toBeLessThanOrEqual(2);
      }
      // Both hosts ran activities: the work was shared; each activity ran once or (rarely) more.
      expect(ran.every((n) => n > 0)).toBe(true);
      expect(ran[0]! + ran[1]!).toBeGreaterThanOrEqual(ids.length * 15);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  }, 120_000);
});
