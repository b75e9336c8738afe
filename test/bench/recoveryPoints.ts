/**
 * Recovery points, each figure beside its baseline on the same Azurite in the same run:
 * - rp.cut_ms: cutting a point of a VM with 4 disks (lease, catalog, 4 snapshots, record), median of
 *   20 cuts, ÷ 4 raw Create Snapshot calls in parallel.
 * - pit.materialize.ratio: materializing the VM's disks (4 × 64 MiB, all written) as of a time
 *   between points — copy of the point's snapshots plus 8 MiB of journal replayed — in MiB/s of
 *   disk made, ÷ MiB/s of a raw copy of the same bytes (read and written back in 4 MiB ranges, 16 per
 *   disk in flight, as materialize copies, but no journal). Azurite gets the copy through this process (see shared/recoveryPoints/diskCopy.ts).
 */
import { randomBytes } from 'node:crypto';

import { BlobServiceClient, type ContainerClient, type PageBlobClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { startAzurite } from '../../host/azurite';
import { SystemClock } from '../../shared/clock';
import { type Delta, encodeDelta } from '../../shared/delta';
import { JournalWriter } from '../../shared/journal';
import { TableProtectedItemStore } from '../../shared/protectedItems';
import { TableRecoveryPointCatalog } from '../../shared/recoveryPoints/catalog';
import { cutRecoveryPoint } from '../../shared/recoveryPoints/cut';
import { materializeAt } from '../../shared/recoveryPoints/materialize';
import type { RecoveryPointStores } from '../../shared/recoveryPoints/stores';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const DISK = 64 * MiB;
const DISKS = [0, 1, 2, 3].map((lun) => ({ lun, name: `disk${lun}`, sizeBytes: DISK }));
const CUTS = 20;
const JOURNAL_DELTAS = 16;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function fillDisks(replicas: ContainerClient, vm: string): Promise<void> {
  const limit = pLimit(16);
  await Promise.all(
    DISKS.map(async (d) => {
      const blob = replicas.getPageBlobClient(`rg/${vm}/${d.name}`);
      await blob.create(d.sizeBytes);
      await Promise.all(
        Array.from({ length: d.sizeBytes / (4 * MiB) }, (_, i) =>
          limit(() => blob.uploadPages(randomBytes(4 * MiB), i * 4 * MiB, 4 * MiB)),
        ),
      );
    }),
  );
}

/** Copies each source (whole, all pages written) to `{prefix}{n}` through this process. */
async function rawCopy(sources: PageBlobClient[], into: ContainerClient, prefix: string): Promise<void> {
  await Promise.all(
    sources.map(async (source, n) => {
      const limit = pLimit(16);
      const target = into.getPageBlobClient(`${prefix}${n}`);
      await target.create(DISK);
      await Promise.all(
        Array.from({ length: DISK / (4 * MiB) }, (_, i) =>
          limit(async () =>
            target.uploadPages(await source.downloadToBuffer(i * 4 * MiB, 4 * MiB), i * 4 * MiB, 4 * MiB),
          ),
        ),
      );
    }),
  );
}

export async function benchRecoveryPoints(): Promise<BenchResult[]> {
  const target = await startAzurite();
  try {
    const tgt = BlobServiceClient.fromConnectionString(target.connectionString);
    const stores: RecoveryPointStores = {
      replicas: tgt.getContainerClient('replicas'),
      journal: tgt.getContainerClient('journal'),
      locks: tgt.getContainerClient('locks'),
      items: TableProtectedItemStore.fromConnectionString(target.connectionString),
      catalog: TableRecoveryPointCatalog.fromConnectionString(target.connectionString),
    };
    const restores = tgt.getContainerClient('restores');
    await Promise.all([stores.replicas, stores.journal, restores].map((c) => c.createIfNotExists()));
    const vm = 'benchvm';
    await fillDisks(stores.replicas, vm);
    let item = await stores.items.create({
      resourceGroup: 'rg',
      vm,
      state: 'Protected',
      generation: 1,
      disks: DISKS,
      applyEnabled: true,
      watermark: 0,
    });
    const deps = { ...stores, clock: new SystemClock() };

    // rp.cut_ms
    const cutMs: number[] = [];
    for (let i = 1; i <= CUTS; i++) {
      item = await stores.items.update(item, { watermark: i, watermarkTime: i * 1000 });
      const t0 = performance.now();
      const result = await cutRecoveryPoint(deps, 'rg', vm, 'CrashConsistent');
      cutMs.push(performance.now() - t0);
      if (result.outcome !== 'cut') throw new Error(`bench cut failed: ${JSON.stringify(result)}`);
      item = (await stores.items.get('rg', vm))!;
    }
    const rawMs: number[] = [];
    for (let i = 0; i < CUTS; i++) {
      const t0 = performance.now();
      await Promise.all(
        DISKS.map((d) => stores.replicas.getPageBlobClient(`rg/${vm}/${d.name}`).createSnapshot()),
      );
      rawMs.push(performance.now() - t0);
    }
    const cut = median(cutMs);
    const raw = median(rawMs);

    // pit.materialize: the journal after the newest point (sequence CUTS), 1 MiB of 64 KiB writes each.
    const pointTime = CUTS * 1000;
    const journal = new JournalWriter(stores.journal);
    for (let k = 1; k <= JOURNAL_DELTAS; k++) {
      const sequence = CUTS + k;
      const delta: Delta = {
        vmId: `rg/${vm}`,
        generation: 1,
        sequence,
        firstWriteTime: pointTime + k * 1000 - 500,
        lastWriteTime: pointTime + k * 1000,
        appConsistent: false,
        heartbeat: false,
        entries: Array.from({ length: 16 }, (_, j) => ({
          disk: (k + j) % DISKS.length,
          offset: ((k * 131 + j * 977) % (DISK / (64 * 1024))) * 64 * 1024,
          data: randomBytes(64 * 1024),
        })),
      };
      await journal.append({ resourceGroup: 'rg', vm, generation: 1, sequence }, encodeDelta(delta));
    }
    item = await stores.items.update(item, {
      watermark: CUTS + JOURNAL_DELTAS,
      watermarkTime: pointTime + JOURNAL_DELTAS * 1000,
    });
    const bytes = DISKS.length * DISK;
    const materializeS: number[] = [];
    const rawCopyS: number[] = [];
    const materialize = async (prefix: string): Promise<void> => {
      const made = await materializeAt(
        stores,
        { resourceGroup: 'rg', vm, time: pointTime + (JOURNAL_DELTAS / 2) * 1000 },
        { container: restores, prefix },
      );
      if (made.replayedDeltas !== JOURNAL_DELTAS / 2)
        throw new Error('bench materialize replayed the wrong deltas');
    };
    // The raw copy reads the same snapshots materialize starts from.
    const point = (await stores.catalog.newest('rg', vm))!;
    const snapshots = point.disks.map((d) =>
      stores.replicas.getPageBlobClient(`rg/${vm}/${d.name}`).withSnapshot(d.snapshot),
    );
    const timed = async (into: number[], fn: () => Promise<void>): Promise<void> => {
      const t0 = performance.now();
      await fn();
      into.push((performance.now() - t0) / 1000);
      // In-memory Azurite keeps every byte: drop the copies so later rounds meet the same heap.
      for await (const b of restores.listBlobsFlat()) await restores.deleteBlob(b.name);
    };
    // A warm-up, then rounds alternating which goes first.
    await materialize('warm/');
    for (let run = 0; run < 7; run++) {
      if (run % 2 === 1) await timed(rawCopyS, () => rawCopy(snapshots, restores, `raw${run}/`));
      await timed(materializeS, () => materialize(`pit${run}/`));
      if (run % 2 === 0) await timed(rawCopyS, () => rawCopy(snapshots, restores, `raw${run}/`));
    }
    const pitMiBs = bytes / MiB / median(materializeS);
    const rawMiBs = bytes / MiB / median(rawCopyS);
    return [
      {
        name: 'rp.cut_ms',
        value: cut,
        unit: 'ms',
        better: 'lower',
        goal: 500,
        baseline: raw,
        ratio: cut / raw,
      },
      {
        name: 'pit.materialize.ratio',
        value: pitMiBs / rawMiBs,
        unit: '×',
        better: 'higher',
        goal: 0.8,
        baseline: 1,
        ratio: pitMiBs / rawMiBs,
      },
      {
        name: 'pit.materialize.mib_s',
        value: pitMiBs,
        unit: 'MiB/s',
        better: 'higher',
        baseline: rawMiBs,
        ratio: pitMiBs / rawMiBs,
      },
    ];
  } finally {
    await target.stop();
  }
}
