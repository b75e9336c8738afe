/**
 * An agent whose delta window is small (4 sequence numbers) ships far more deltas than that, against
 * real Azurite and the real top-up (shared/replication/cacheCredentials.ts, run here on a short
 * timer as the sweep timer runs it): at the end of its window it waits (writes are held, nothing is
 * dropped), reads its config again, and goes on with the numbers it was at once the top-up issues a
 * new window. Every sequence number arrives, none is skipped, none is used twice, and the deltas
 * replay to the disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MobilityAgent } from '../../../agent/agent';
import { MemoryBlockDevice } from '../../../agent/memoryBlockDevice';
import { ReplicatedDisk } from '../../../agent/replicatedDisk';
import { VmDisks } from '../../../agent/vmDisks';
import { agentConfigBlobName, parseAgentConfig, writeAgentConfig } from '../../../shared/agentConfig';
import { decodeDelta, type Delta } from '../../../shared/delta';
import { RecordingLogger } from '../../../shared/logger';
import {
  type CacheCredentialStores,
  cacheCredentialStoresOf,
  topUpCacheCredentials,
} from '../../../shared/replication/cacheCredentials';
import { testAgentConfig } from '../../helpers/agentCredentials';
import { useAzurite, uniqueName } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';

const WINDOW = 4;
const DISK = 1024 * 1024;
const WRITES = 60;

describe('an agent with a small credentials window (real Azurite, real top-up)', () => {
  const azurite = useAzurite();
  let stores: CacheCredentialStores;
  let stateDir: string;

  beforeAll(async () => {
    stores = cacheCredentialStoresOf(azurite().connectionString);
    await stores.agentConfig.createIfNotExists();
    await stores.cache.createIfNotExists();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-window-'));
  });
  afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('waits at the end of its window, goes on when topped up, and ships every number once', async () => {
    const rg = uniqueName('rg');
    const vmId = `${rg}/vm1`;
    await writeAgentConfig(
      stores.agentConfig,
      testAgentConfig(azurite().connectionString, {
        resourceGroup: rg,
        vm: 'vm1',
        window: WINDOW,
        flushIntervalMs: 50,
        heartbeatIntervalMs: 100,
      }),
    );
    const device = new MemoryBlockDevice('os', DISK);
    const disks = new VmDisks([new ReplicatedDisk(0, device)]);
    const logger = new RecordingLogger();
    const agent = new MobilityAgent({
      resourceGroup: rg,
      vm: 'vm1',
      sourceConnectionString: azurite().connectionString,
      stateDir,
      logger,
      openDisks: async () => disks,
      // The regular poll is far away: what picks up a new window is the agent's own early reads.
      configPollIntervalMs: 600_000,
      credentialsPollIntervalMs: 100,
      statusIntervalMs: 200,
      healthCheckIntervalMs: 100,
    });
    await agent.start();
    const os0 = disks.exports.get('os')!;

    // Heartbeats alone use the window up: the agent waits, holding what it has not shipped.
    await waitFor(() => agent.status().lastSequence === WINDOW && agent.status().health !== 'Healthy', {
      timeoutMs: 20_000,
      intervalMs: 20,
      what: 'the agent to use its window up',
    });
    await os0.write(0, Buffer.alloc(512, 1), { fua: false });
    await sleep(500);
    expect(agent.status().lastSequence).toBe(WINDOW);
    expect(agent.status().queuedBytes + agent.status().heldBytes).toBeGreaterThan(0);
    const waiting = logger.records.filter((r) => /Waiting for cache credentials/.test(r.msg));
    expect(waiting.length).toBeGreaterThanOrEqual(1);
    expect(waiting.every((r) => r.level === 'warn')).toBe(true);

    // The sweep timer's top-up, every 250 ms here (30 s in the app, with a window of 512).
    let renewals = 0;
    let toppingUp = true;
    const item = { resourceGroup: rg, vm: 'vm1', generation: 1, watermark: 0 };
    const timer = (async () => {
      while (toppingUp) {
        const result = await topUpCacheCredentials(
          stores,
          item,
          { window: WINDOW, lifetimeMs: 3_600_000 },
          {
            now: Date.now(),
          },
        );
        if (result.outcome === 'renewed') renewals++;
        await sleep(250);
      }
    })();

    // Writes go on through all of it; each one a marker of its own.
    for (let i = 1; i <= WRITES; i++) {
      await os0.write(i * 4096, Buffer.alloc(512, i % 250 || 251), { fua: false });
      await sleep(15);
    }
    await waitFor(() => agent.status().heldBytes === 0 && agent.status().lastSequence >= 5 * WINDOW, {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'the agent to ship everything',
    });
    await agent.stop();
    toppingUp = false;
    await timer;

    expect(renewals).toBeGreaterThanOrEqual(3);
    expect(agent.status()).toMatchObject({ health: 'Stopped', heldBytes: 0, queuedBytes: 0 });
    expect(agent.status().resyncReason).toBeUndefined();
    const deltas: Delta[] = [];
    for await (const blob of stores.cache.listBlobsFlat({ prefix: `${vmId}/1/` })) {
      deltas.push(decodeDelta(await stores.cache.getBlobClient(blob.name).downloadToBuffer(), { vmId }));
    }
    deltas.sort((a, b) => a.sequence - b.sequence);
    const last = agent.status().lastSequence;
    expect(deltas.map((d) => d.sequence)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(deltas.every((d) => !d.resyncRequired)).toBe(true);
    // Every write is in exactly one delta, in order, and the deltas replay to the disk.
    const offsets = deltas.flatMap((d) => d.entries.map((e) => e.offset));
    expect(offsets).toEqual([0, ...Array.from({ length: WRITES }, (_, i) => (i + 1) * 4096)]);
    const replica = Buffer.alloc(DISK);
    for (const e of deltas.flatMap((d) => d.entries)) if ('data' in e) e.data.copy(replica, e.offset);
    expect(replica.equals(device.snapshot())).toBe(true);
    // The agent never held credentials past what the control plane issued last.
    const text = await stores.agentConfig.getBlobClient(agentConfigBlobName(rg, 'vm1')).downloadToBuffer();
    const config = parseAgentConfig(JSON.parse(text.toString('utf8')));
    expect(config.ok && config.config.cache.deltaSas.firstSequence).toBeGreaterThan(1);
    expect(logger.records.filter((r) => r.level === 'error')).toEqual([]);
  }, 120_000);
});
