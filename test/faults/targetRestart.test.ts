/**
 * Fault 2: the target region's storage (its Azurite: replicas, journal, points, tables, the task hub)
 * stopped in the middle of a steady workload and started again on the same ports and data folder.
 * Meanwhile the agent goes on shipping to the cache (source region) and the applier fails. Once it
 * is back: replication resumes by itself, nothing is lost (the source holds every acknowledged write,
 * the journal carries each once), the replicas converge, every recovery point (those from before the
 * outage too) equals its shadow, and the watermark never went back.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CONTAINERS } from '../../shared/storageNames';
import { waitFor } from '../helpers/waitFor';
import { type FaultStack, startFaultStack } from './support/faultStack';
import { seededRng } from './support/seed';
import { Shadow, ShadowWriter } from './support/shadow';
import { VmVerifier } from './support/verify';

const MiB = 1024 * 1024;
const RG = 'down-rg';
const VM = 'db1';
const DISKS = [
  { name: 'os', lun: 0, sizeBytes: 4 * MiB },
  { name: 'data', lun: 1, sizeBytes: 2 * MiB },
];
/** How long the target region stays down (20 s unless TIDEMARK_FAULT_TARGET_DOWN_MS says otherwise). */
const DOWN_MS = Number(process.env.TIDEMARK_FAULT_TARGET_DOWN_MS ?? 20_000);

const { seed, rng } = seededRng('target restart');

describe('fault: the target region storage stopped and started again', () => {
  let stack: FaultStack;
  let shadow: Shadow;
  let writer: ShadowWriter;
  let verifier: VmVerifier;

  beforeAll(async () => {
    stack = await startFaultStack({ settings: { TIDEMARK_RECOVERY_POINT_SCHEDULE: '*/3 * * * * *' } });
    await stack.putVm(
      RG,
      VM,
      DISKS.map((d) => ({ name: d.name, sizeMiB: d.sizeBytes / MiB })),
    );
    shadow = new Shadow(RG, VM, DISKS, (seed ^ 0xe5) >>> 0);
    writer = new ShadowWriter(shadow, { port: () => stack.nbdPort(RG, VM), rng });
    verifier = new VmVerifier(shadow, {
      source: stack.source.connectionString,
      target: stack.target.connectionString,
    });
    verifier.startIndexing();
    verifier.startWatermarkWatch();
    writer.start();
    await stack.waitForJob(await stack.startJob(`vms/${RG}/${VM}/enable-replication`), 180_000);
  }, 300_000);

  afterAll(async () => {
    await writer?.stop();
    await verifier?.stopBackground();
    await stack?.stop();
  }, 180_000);

  async function cachedDeltas(): Promise<number> {
    let n = 0;
    const cache = BlobServiceClient.fromConnectionString(stack.source.connectionString).getContainerClient(
      CONTAINERS.cache,
    );
    for await (const blob of cache.listBlobsFlat({ prefix: `${RG}/${VM}/` }))
      if (blob.name.endsWith('.delta')) n++;
    return n;
  }

  it(`resumes by itself after ${DOWN_MS / 1000} s down, nothing lost, replicas converge`, async () => {
    // Points exist before the outage, and replication runs.
    await waitFor(async () => (await verifier.points()).length >= 3, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'three recovery points',
    });
    await writer.pause();
    await verifier.waitConverged();
    const before = await verifier.checkPoints();
    writer.resume();
    await sleep(rng.int(500, 2000));

    const watermark = (await verifier.sampleWatermark())!.watermark;
    await stack.target.stop();
    const downAt = Date.now();
    // The agent goes on shipping: deltas pile up in the cache, the workload is not held up.
    const ackedAtStop = shadow.lastAcked;
    await waitFor(async () => (await cachedDeltas()) >= 5, {
      timeoutMs: DOWN_MS,
      intervalMs: 250,
      what: 'deltas to pile up in the cache',
    });
    await sleep(Math.max(0, downAt + DOWN_MS - Date.now()));
    expect(shadow.lastAcked, 'writes went on while the target was down').toBeGreaterThan(ackedAtStop + 50);
    const piled = await cachedDeltas();
    await stack.target.start();
    const upAt = Date.now();

    // Replication resumes by itself: the watermark moves past where it stopped.
    await waitFor(async () => ((await verifier.sampleWatermark())?.watermark ?? 0) > watermark + 3, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'the watermark to move again',
    });
    const resumedMs = Date.now() - upAt;
    await writer.pause();
    const convergedMs = await verifier.waitConverged(180_000);
    await verifier.expectSourceIsShadow();
    // Every point, those from before the outage too: their snapshots came back with the data.
    const after = await verifier.checkPoints({ again: true });
    const item = (await verifier.sampleWatermark())!;
    verifier.checkJournalOrder(item.generation);
    expect(verifier.watermarkViolations).toEqual([]);
    expect(item).toMatchObject({ state: 'Protected', applyEnabled: true });
    expect(item.resyncReason).toBeUndefined();
    const quarantine = BlobServiceClient.fromConnectionString(
      stack.target.connectionString,
    ).getContainerClient(CONTAINERS.quarantine);
    const quarantined: string[] = [];
    if (await quarantine.exists()) {
      for await (const b of quarantine.listBlobsFlat({ prefix: `${RG}/${VM}/` })) quarantined.push(b.name);
    }
    expect(quarantined).toEqual([]);
    console.log(
      `[faults] target restart: down ${Math.round((upAt - downAt) / 1000)} s, ${piled} deltas piled up in the cache, watermark moving ${resumedMs} ms after the restart, converged ${convergedMs} ms after pausing the workload; ${before.checked} points checked before, all ${after.checked} after`,
    );

    // Still replicating: new writes reach the replicas, new points are cut.
    const pointsNow = (await verifier.points()).length;
    writer.resume();
    await waitFor(async () => (await verifier.points()).length > pointsNow + 1, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'new recovery points',
    });
    await writer.pause();
    await verifier.waitConverged();
    await verifier.checkPoints();
  }, 600_000);
});
