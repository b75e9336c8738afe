/**
 * Apply throughput, each beside its baseline on the same Azurite in the same run: MiB/s of delta
 * payload taken from the cache, decoded, coalesced, written to the replica, journaled and committed,
 * ÷ MiB/s of raw Put Page calls writing the same writes (same sizes and offsets, 32 in flight,
 * nothing else). Three write patterns: sequential 4 MiB, random 4 KiB, and a hot spot (80 % of
 * writes on 5 % of the disk) where coalescing should pay. For the sequential one it also measures
 * the raw I/O an apply cannot avoid (download, journal upload, Put Page, together), see ioFloor.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

import { startAzurite } from '../../host/azurite';
import { SystemClock } from '../../shared/clock';
import { type DeltaDataEntry, deltaBlobName, encodeDelta } from '../../shared/delta';
import { encodeFrame } from '../../shared/journal';
import { silentLogger } from '../../shared/logger';
import { TableProtectedItemStore } from '../../shared/protectedItems';
import { DeltaApplier } from '../../shared/replication/applier';
import type { BenchResult } from './types';

const MiB = 1024 * 1024;
const DISK = 512 * MiB;

type Pattern = 'seq4m' | 'rand4k' | 'hotspot';

function writes(pattern: Pattern, total: number, seed: number): DeltaDataEntry[] {
  let x = seed * 7919 + 1;
  const rnd = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const size = pattern === 'seq4m' ? 4 * MiB : 4096;
  const slots = DISK / size;
  const out: DeltaDataEntry[] = [];
  for (let i = 0; i * size < total; i++) {
    let slot: number;
    if (pattern === 'seq4m') slot = ((seed - 1) * (total / size) + i) % slots;
    else if (pattern === 'rand4k') slot = Math.floor(rnd() * slots);
    else slot = rnd() < 0.8 ? Math.floor(rnd() * slots * 0.05) : Math.floor(rnd() * slots);
    out.push({ disk: 0, offset: slot * size, data: Buffer.alloc(size, Math.floor(rnd() * 256)) });
  }
  return out;
}

const GOALS: Record<Pattern, number> = { seq4m: 0.9, rand4k: 0.8, hotspot: 1.5 };

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return (performance.now() - t0) / 1000;
}

/**
 * What the applier cannot do without, measured raw in the same run for sequential writes: download
 * the deltas from the cache (4 at a time, as the applier does), append them to a journal segment in
 * the target (one append block each, 8 at a time), and the three together with the Put Pages. The
 * apply moves three times the baseline's bytes through the two Azurites; `io_floor` compares it with that.
 */
async function ioFloor(
  cache: ContainerClient,
  tgt: BlobServiceClient,
  bodies: readonly Buffer[],
  writes: readonly DeltaDataEntry[],
  payload: number,
  applyMiBs: number,
): Promise<BenchResult[]> {
  const floor = tgt.getContainerClient('floor');
  await floor.createIfNotExists();
  await Promise.all(bodies.map((b, i) => cache.getBlockBlobClient(`floor/${i}`).uploadData(b)));
  const download = (): Promise<unknown> => {
    const limit = pLimit(4);
    return Promise.all(
      bodies.map((_, i) => limit(() => cache.getBlobClient(`floor/${i}`).downloadToBuffer())),
    );
  };
  const journal = async (tag: string): Promise<unknown> => {
    const segment = floor.getAppendBlobClient(`${tag}.journal`);
    await segment.create();
    const limit = pLimit(8);
    return Promise.all(
      bodies.map((b, i) =>
        limit(() => {
          const frame = encodeFrame(i, b);
          return segment.appendBlock(frame, frame.length);
        }),
      ),
    );
  };
  const pages = floor.getPageBlobClient('pages');
  await pages.create(DISK);
  const putPages = (): Promise<unknown> => {
    const limit = pLimit(32);
    return Promise.all(writes.map((e) => limit(() => pages.uploadPages(e.data, e.offset, e.data.length))));
  };
  const mibs = (seconds: number): number => payload / MiB / seconds;
  const downloadMiBs = mibs(await timed(download));
  const journalMiBs = mibs(await timed(() => journal('alone')));
  const allMiBs = mibs(await timed(() => Promise.all([download(), journal('together'), putPages()])));
  const info = (name: string, value: number): BenchResult => ({
    name,
    value,
    unit: 'MiB/s',
    better: 'higher',
  });
  return [
    info('apply.seq4m.raw_download_mib_s', downloadMiBs),
    info('apply.seq4m.raw_journal_mib_s', journalMiBs),
    {
      name: 'apply.seq4m.io_floor',
      value: applyMiBs / allMiBs,
      unit: '×',
      better: 'higher',
      baseline: allMiBs,
      ratio: applyMiBs / allMiBs,
    },
  ];
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
    for (const pattern of ['seq4m', 'rand4k', 'hotspot'] as const) {
      const vm = `bench${pattern}`;
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
      const deltas = pattern === 'seq4m' ? 16 : 6;
      let payload = 0;
      const all: DeltaDataEntry[] = [];
      const bodies: Buffer[] = [];
      for (let seq = 1; seq <= deltas; seq++) {
        const entries = writes(pattern, 8 * MiB, seq);
        all.push(...entries);
        payload += entries.reduce((n, e) => n + e.data.length, 0);
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
        bodies.push(body);
        await cache
          .getBlockBlobClient(deltaBlobName({ resourceGroup: 'rg', vm, generation: 1, sequence: seq }))
          .uploadData(body);
      }
      const applier = new DeltaApplier(stores, { clock: new SystemClock(), logger: silentLogger });
      const t0 = performance.now();
      const result = await applier.drain('rg', vm);
      const applySeconds = (performance.now() - t0) / 1000;
      if (result.outcome !== 'applied' || result.watermark !== deltas) {
        throw new Error(`bench apply failed: ${JSON.stringify(result)}`);
      }

      const raw = replicas.getPageBlobClient(`rg/${vm}/raw`);
      await raw.create(DISK);
      const limit = pLimit(32);
      const t1 = performance.now();
      await Promise.all(all.map((e) => limit(() => raw.uploadPages(e.data, e.offset, e.data.length))));
      const rawSeconds = (performance.now() - t1) / 1000;

      const applyMiBs = payload / MiB / applySeconds;
      const rawMiBs = payload / MiB / rawSeconds;
      results.push({
        name: `apply.${pattern}.ratio`,
        value: applyMiBs / rawMiBs,
        unit: '×',
        better: 'higher',
        goal: GOALS[pattern],
        baseline: 1,
        ratio: applyMiBs / rawMiBs,
      });
      results.push({
        name: `apply.${pattern}.mib_s`,
        value: applyMiBs,
        unit: 'MiB/s',
        better: 'higher',
        baseline: rawMiBs,
        ratio: applyMiBs / rawMiBs,
      });
      if (pattern === 'seq4m') results.push(...(await ioFloor(cache, tgt, bodies, all, payload, applyMiBs)));
    }
    return results;
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}
