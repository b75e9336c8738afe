import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startHost } from '../../../host/startHost';
import { ManualClock } from '../../../shared/clock';
import { RecordingLogger } from '../../../shared/logger';
import { uniqueName, useAzurite } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';
import {
  clientOp,
  type DurableHost,
  getStatus,
  rpc,
  startDurableHost,
  startViaHttp,
  waitForStatus,
} from './helpers';

const azurite = useAzurite();

describe('durable: timers, external events, continue-as-new', () => {
  let d: DurableHost;
  beforeAll(async () => {
    d = await startDurableHost(azurite());
  });
  afterAll(async () => {
    await d?.host.dispose();
  });

  it('an external event beats the timer', async () => {
    const started = await startViaHttp(d.host, 'approval', { timeoutMs: 30_000 });
    await waitForStatus(d.host, started.id, ['Running']);
    const raised = await clientOp(d.host, 'raise', {
      instanceId: started.id,
      name: 'Approval',
      data: { by: 'ann' },
    });
    expect(raised.status).toBe(202);
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toEqual({ approved: { by: 'ann' } });
  });

  it('the timer beats a late external event', async () => {
    const started = await startViaHttp(d.host, 'approval', { timeoutMs: 300 });
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toBe('timed out');
    // Raising an event at a finished instance is accepted by the client (410 from the API).
    const res = await rpc(d.host, `instances/${started.id}/raiseEvent/Approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(410);
  });

  it('keeps an event raised before anyone waits for it', async () => {
    const started = await startViaHttp(d.host, 'approval', { timeoutMs: 30_000 }, uniqueName('early'));
    // Raised immediately: it may arrive in the very first episode.
    await clientOp(d.host, 'raise', { instanceId: started.id, name: 'Approval', data: 'early' });
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toEqual({ approved: 'early' });
  });

  it('runs a monitor loop with timers and continue-as-new', async () => {
    const started = await startViaHttp(d.host, 'monitor', { count: 0, max: 4, intervalMs: 50 });
    const status = await waitForStatus(d.host, started.id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ count: 4 });
    expect(status.customStatus).toEqual({ count: 4 });
    const history = (await getStatus(d.host, started.id, '?showHistory=true'))?.historyEvents ?? [];
    // Only the last execution's history remains.
    expect(history.filter((e) => e.EventType === 'ExecutionStarted')).toHaveLength(1);
    expect(history.filter((e) => e.EventType === 'TimerFired')).toHaveLength(0);
  });

  it('carries an event raised during the previous execution across continue-as-new', async () => {
    const started = await startViaHttp(d.host, 'carryEvents', 0);
    await waitForStatus(d.host, started.id, ['Running']);
    await clientOp(d.host, 'raise', { instanceId: started.id, name: 'late', data: 7 });
    const status = await waitForStatus(d.host, started.id);
    expect(status.output).toEqual({ generation: 1, value: 7 });
  });
});

describe('durable: long timers on the engine clock', () => {
  it('fires a three-day timer when the clock gets there, not bounded by queue visibility', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const host = startHost({
      appDir: path.join(__dirname, '../../fixtures/durable-app-clock'),
      port: 0,
      clock,
      logger: new RecordingLogger(),
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'durable-clock-')),
      useProcessEnv: false,
      settings: { AzureWebJobsStorage: azurite().connectionString, DURABLE_HUB: uniqueName('clock') },
    });
    try {
      await host.ready;
      const res = await rpc(host, 'orchestrators/longTimer/long-1', { method: 'POST' });
      expect(res.status).toBe(202);
      await waitForStatus(host, 'long-1', ['Running']);
      await clock.advance(2 * 24 * 3600 * 1000);
      expect((await getStatus(host, 'long-1'))?.runtimeStatus).toBe('Running');
      await clock.advance(24 * 3600 * 1000 + 1000);
      const status = await waitFor(
        async () => {
          const s = await getStatus(host, 'long-1');
          return s?.runtimeStatus === 'Completed' ? s : undefined;
        },
        { timeoutMs: 10_000, what: 'the long timer to fire' },
      );
      expect(status.output).toBe(72);
    } finally {
      await host.dispose();
    }
  });
});
