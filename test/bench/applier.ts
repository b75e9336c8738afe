/**
 * Apply throughput: MiB/s of delta payload taken from the cache, decoded, coalesced, written to the
 * replicas, journaled and committed, against a baseline of raw Put Page calls writing the same
 * writes (same sizes and offsets, 32 in flight, nothing else) into the same Azurite. Goals are Site
 * Recovery's per-disk churn limits for that I/O size (premium disks: 2 MB/s at 4 KiB, 20 MB/s at
 * ≥16 KiB; dr-anchors.md §1).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { startAzurite } from '../../host/azurite';
import { SystemClock } from '../../shared/clock';
import { type DeltaEntry, deltaBlobName, encodeDelta } from '../../shared/delta';
import { silentLogger } from '../../shared/logger';
import { TableProtectedItemStore } from '../../shared/protectedItems';
import { DeltaApplier } from '../../shared/replication/applier';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const DISK = 256 * MiB;

function randomWrites(total: number, size: number, seed: number): DeltaEntry[] {
  let x = seed;
  const next = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31);
  const entries: DeltaEntry[] = [];
  for (let bytes = 0; bytes < total; bytes += size) {
    const data = Buffer.alloc(size, next() & 0xff);
    entries.push({ disk: 0, offset: (next() % (DISK / size)) * size, data });
  }
  return entries;
}

export async function benchApplier(): Promise<BenchResult[]> {
  const source = await startAzurite();
  const target = await startAzurite();
  try {
    const src = BlobServiceClient.fromConnectionString(source.connectionString);
    const tgt = BlobServiceClient.fromConnectionString(target.connectionString);
    const cache = src.getContainerClient('cache');
    const replicas = tgt.getContainerClient('replicas');
    await Promise.all([cache.create(), replicas.create()]);
    const items = TableProtectedItemStore.fromConnectionString(target.connectionString);
    const stores = {
      cache,
      replicas,
      journal: tgt.getContainerClient('journal'),
      quarantine: tgt.getContainerClient('quarantine'),
      locks: tgt.getContainerClient('locks'),
      items,
    };
    const results: BenchResult[] = [];
    for (const [label, writeSize, goal] of [
      ['4k', 4096, 2],
      ['64k', 64 * 1024, 20],
    ] as const) {
      const vm = `bench${label}`;
      await replicas.getPageBlobClient(`rg/${vm}/os`).create(DISK);
      await items.create({
        resourceGroup: 'rg',
        vm,
        state: 'Protected',
        generation: 1,
        disks: [{ lun: 0, name: 'os', sizeBytes: DISK }],
        applyEnabled: true,
        watermark: 0,
      });
      const deltas = 8;
      let payload = 0;
      const all: DeltaEntry[] = [];
      for (let seq = 1; seq <= deltas; seq++) {
        const entries = randomWrites(8 * MiB, writeSize, seq);
        all.push(...entries);
        payload += 8 * MiB;
        const body = encodeDelta({
          vmId: `rg/${vm}`,
          generation: 1,
          sequence: seq,
          firstWriteTime: seq,
          lastWriteTime: seq,
          appConsistent: false,
          heartbeat: false,
          entries,
        });
        await cache
          .getBlockBlobClient(deltaBlobName({ resourceGroup: 'rg', vm, generation: 1, sequence: seq }))
          .uploadData(body);
      }
      const applier = new DeltaApplier(stores, { clock: new SystemClock(), logger: silentLogger });
      const t0 = performance.now();
      const result = await applier.drain('rg', vm);
      const applySeconds = (performance.now() - t0) / 1000;
      if (result.outcome !== 'applied' || result.watermark !== deltas)
        throw new Error(`bench apply failed: ${JSON.stringify(result)}`);

      // Baseline: the same writes as raw Put Page calls.
      const raw = replicas.getPageBlobClient(`rg/${vm}/raw`);
      await raw.create(DISK);
      const limit = pLimit(32);
      const t1 = performance.now();
      await Promise.all(
        all.map((e) =>
          limit(() =>
            'data' in e
              ? raw.uploadPages(e.data, e.offset, e.data.length)
              : raw.clearPages(e.offset, e.zeroLength),
          ),
        ),
      );
      const rawSeconds = (performance.now() - t1) / 1000;
      const applyMiBs = payload / MiB / applySeconds;
      const rawMiBs = payload / MiB / rawSeconds;
      results.push({
        name: `apply.throughput.${label}_writes`,
        value: applyMiBs,
        unit: 'MiB/s',
        better: 'higher',
        goal,
        baseline: rawMiBs,
        ratio: applyMiBs / rawMiBs,
      });
    }
    return results;
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}
