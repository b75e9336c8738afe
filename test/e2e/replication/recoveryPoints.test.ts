/**
 * Recovery points end to end: tidemark's app in the local host (from dist/) with a 2-second
 * recovery-point schedule. Deltas put in the cache are applied by the applyDelta blob trigger, the
 * recoveryPoints timer cuts points of them, and an app-consistent delta gets its point from the
 * applier's hook.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Delta, deltaBlobMetadata, deltaBlobName, encodeDelta } from '../../../shared/delta';
import { TableProtectedItemStore } from '../../../shared/protectedItems';
import { TableRecoveryPointCatalog } from '../../../shared/recoveryPoints/catalog';
import type { RecoveryPoint } from '../../../shared/recoveryPoints/types';
import { CONTAINERS } from '../../../shared/storageNames';
import { startTidemarkStack, type TidemarkStack } from '../../helpers/tidemarkHost';
import { waitFor } from '../../helpers/waitFor';

const DISK_BYTES = 64 * 1024;
const DISKS = [
  { lun: 0, name: 'os', sizeBytes: DISK_BYTES },
  { lun: 1, name: 'data', sizeBytes: DISK_BYTES },
];

describe('recovery points through the local host', () => {
  let stack: TidemarkStack;
  let catalog: TableRecoveryPointCatalog;
  let items: TableProtectedItemStore;
  const shadow = DISKS.map(() => Buffer.alloc(DISK_BYTES));

  beforeAll(async () => {
    stack = await startTidemarkStack({ TIDEMARK_RECOVERY_POINT_SCHEDULE: '*/2 * * * * *' });
    const target = BlobServiceClient.fromConnectionString(stack.target.connectionString);
    const replicas = target.getContainerClient(CONTAINERS.replicas);
    await replicas.createIfNotExists();
    await BlobServiceClient.fromConnectionString(stack.source.connectionString)
      .getContainerClient(CONTAINERS.cache)
      .createIfNotExists();
    for (const d of DISKS) await replicas.getPageBlobClient(`rg1/app1/${d.name}`).create(d.sizeBytes);
    items = TableProtectedItemStore.fromConnectionString(stack.target.connectionString);
    catalog = TableRecoveryPointCatalog.fromConnectionString(stack.target.connectionString);
    await items.create({
      resourceGroup: 'rg1',
      vm: 'app1',
      state: 'Protected',
      generation: 1,
      disks: DISKS,
      applyEnabled: true,
      watermark: 0,
      policy: { retentionHours: 24 },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function ship(sequence: number, fill: number, appConsistent = false): Promise<void> {
    const data = Buffer.alloc(4096, fill);
    const disk = sequence % 2;
    data.copy(shadow[disk]!, sequence * 4096);
    const now = Date.now();
    const delta: Delta = {
      vmId: 'rg1/app1',
      generation: 1,
      sequence,
      firstWriteTime: now - 100,
      lastWriteTime: now,
      appConsistent,
      heartbeat: false,
      entries: [{ disk, offset: sequence * 4096, data }],
    };
    await BlobServiceClient.fromConnectionString(stack.source.connectionString)
      .getContainerClient(CONTAINERS.cache)
      .getBlockBlobClient(deltaBlobName({ resourceGroup: 'rg1', vm: 'app1', generation: 1, sequence }))
      .uploadData(encodeDelta(delta), { metadata: deltaBlobMetadata(delta) });
  }

  async function pointAt(sequence: number): Promise<RecoveryPoint> {
    return waitFor(async () => (await catalog.list('rg1', 'app1')).find((p) => p.sequence === sequence), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: `a recovery point at sequence ${sequence}`,
    });
  }

  async function snapshotBytes(point: RecoveryPoint): Promise<Buffer[]> {
    const replicas = BlobServiceClient.fromConnectionString(stack.target.connectionString).getContainerClient(
      CONTAINERS.replicas,
    );
    return Promise.all(
      point.disks.map((d) =>
        replicas.getBlobClient(`rg1/app1/${d.name}`).withSnapshot(d.snapshot).downloadToBuffer(),
      ),
    );
  }

  it('cuts crash-consistent points on its schedule as deltas are applied', async () => {
    for (let seq = 1; seq <= 3; seq++) await ship(seq, 0x30 + seq);
    const first = await pointAt(3);
    expect(first.type).toBe('CrashConsistent');
    const expected = shadow.map((b) => Buffer.from(b));
    expect((await snapshotBytes(first)).every((b, i) => b.equals(expected[i]!))).toBe(true);

    for (let seq = 4; seq <= 5; seq++) await ship(seq, 0x30 + seq);
    const second = await pointAt(5);
    expect(second.cutAt).toBeGreaterThan(first.cutAt);
    // Nothing new: the timer keeps running but cuts no duplicate.
    const before = await catalog.list('rg1', 'app1');
    expect(new Set(before.map((p) => p.sequence)).size).toBe(before.length);
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(await catalog.list('rg1', 'app1')).toEqual(before);

    const item = await items.get('rg1', 'app1');
    expect(item).toMatchObject({ health: 'Healthy', healthReasons: [] });
    expect(item?.rpoSeconds).toBeLessThan(30);
    const metrics = stack.logger.records.filter((r) => r.msg.startsWith('replication metric'));
    expect(metrics.length).toBeGreaterThan(0);
    expect(metrics.at(-1)!.msg).toContain('"metric":"replication"');
    expect(stack.logger.records.filter((r) => r.msg === "Executed 'recoveryPoints' (Failed)")).toEqual([]);
  });

  it('cuts an app-consistent point right after an app-consistent delta', async () => {
    await ship(6, 0x60, true);
    const point = await pointAt(6);
    expect(point.type).toBe('AppConsistent');
    expect((await snapshotBytes(point)).every((b, i) => b.equals(shadow[i]!))).toBe(true);
  });
});
