import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { uniqueName, useAzurite } from '../../helpers/azurite';
import { type HostProcess, spawnHost } from '../../helpers/hostProcess';
import { waitFor } from '../../helpers/waitFor';

const APP = path.join(__dirname, '../../fixtures/durable-app-crash');

interface Status {
  runtimeStatus: string;
  output: unknown;
}

async function status(url: string, id: string): Promise<Status | undefined> {
  const res = await fetch(`${url}/durabletask/instances/${id}`).catch(() => undefined);
  if (!res || res.status === 404) return undefined;
  return (await res.json()) as Status;
}

describe('durable: crash safety', () => {
  const azurite = useAzurite();

  it('finishes a fan-out with the exact result although the host is SIGKILLed again and again', async () => {
    const n = 24;
    const expected = (n * (n + 1) * (2 * n + 1)) / 6 + 9 + 16 + (0 + 1 + 2 + 3 + 4);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-crash-'));
    const env = { AzureWebJobsStorage: azurite().connectionString, DURABLE_HUB: uniqueName('crash') };
    let host: HostProcess = await spawnHost({ appDir: APP, dataDir, env });
    const id = 'crash-1';
    try {
      const res = await fetch(`${host.url}/durabletask/orchestrators/crashFanOut/${id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(n),
      });
      expect(res.status).toBe(202);
      let killedWhileRunning = 0;
      for (const delay of [150, 400, 250, 600, 300, 800]) {
        await new Promise((r) => setTimeout(r, delay));
        const before = await status(host.url, id);
        if (before?.runtimeStatus === 'Completed') break;
        if (before?.runtimeStatus === 'Running') killedWhileRunning++;
        await host.kill();
        host = await spawnHost({ appDir: APP, dataDir, env });
      }
      expect(killedWhileRunning).toBeGreaterThanOrEqual(3);
      const final = await waitFor(
        async () => {
          const s = await status(host.url, id);
          return s && ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus) ? s : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: 'the orchestration to finish after the crashes' },
      );
      expect(final.runtimeStatus).toBe('Completed');
      expect(final.output).toEqual({ n, total: expected });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- host output ---\n${host.output()}`);
    } finally {
      await host.stop();
    }
  }, 180_000);

  it('fires a timer that fell due while the host was down', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-crash-'));
    const env = { AzureWebJobsStorage: azurite().connectionString, DURABLE_HUB: uniqueName('down') };
    let host = await spawnHost({ appDir: APP, dataDir, env });
    try {
      await fetch(`${host.url}/durabletask/orchestrators/napper/nap-1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '1000',
      });
      await waitFor(async () => (await status(host.url, 'nap-1'))?.runtimeStatus === 'Running', {
        what: 'the nap to start',
      });
      await host.kill();
      await new Promise((r) => setTimeout(r, 2000));
      const downAt = Date.now();
      host = await spawnHost({ appDir: APP, dataDir, env });
      const final = await waitFor(
        async () => {
          const s = await status(host.url, 'nap-1');
          return s?.runtimeStatus === 'Completed' ? s : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50, what: 'the overdue timer to fire after a restart' },
      );
      expect(final.output).toBe(true);
      // Overdue timers fire at start-up, not a polling interval later.
      expect(Date.now() - downAt).toBeLessThan(10_000);
    } finally {
      await host.stop();
    }
  }, 60_000);
});
