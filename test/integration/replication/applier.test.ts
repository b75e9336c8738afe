import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

import { SystemClock } from '../../../shared/clock';
import {
  type Delta,
  type DeltaEntry,
  deltaBlobMetadata,
  deltaBlobName,
  encodeDelta,
} from '../../../shared/delta';
import { journalBlobs, JournalReader, journaledDeltas } from '../../../shared/journal';
import { RecordingLogger } from '../../../shared/logger';
import { type ProtectedItem, TableProtectedItemStore } from '../../../shared/protectedItems';
import { type ApplierStores, DeltaApplier } from '../../../shared/replication/applier';
import { coalesce } from '../../../shared/replication/coalesce';
import { VmLocks } from '../../../shared/replication/vmLease';
import { useAzurite, uniqueName } from '../../helpers/azurite';

const DISK_BYTES = 64 * 1024;
const DISKS = [
  { lun: 0, name: 'os', sizeBytes: DISK_BYTES },
  { lun: 1, name: 'data', sizeBytes: DISK_BYTES },
];

describe('DeltaApplier (real Azurite: source cache + target)', () => {
  const source = useAzurite();
  const target = useAzurite();
  let stores: ApplierStores;
  let replicas: ContainerClient;
  let cache: ContainerClient;

  beforeAll(async () => {
    const src = BlobServiceClient.fromConnectionString(source().connectionString);
    const tgt = BlobServiceClient.fromConnectionString(target().connectionString);
    cache = src.getContainerClient('cache');
    replicas = tgt.getContainerClient('replicas');
    await Promise.all([cache.createIfNotExists(), replicas.createIfNotExists()]);
    stores = {
      cache,
      replicas,
      journal: tgt.getContainerClient('journal'),
      quarantine: tgt.getContainerClient('quarantine'),
      locks: tgt.getContainerClient('locks'),
      items: TableProtectedItemStore.fromConnectionString(target().connectionString),
    };
  });

  async function protect(vm: string, overrides: Partial<ProtectedItem> = {}): Promise<Buffer[]> {
    const initial = DISKS.map((_, i) => Buffer.alloc(DISK_BYTES, 0x10 + i));
    for (const d of DISKS) {
      const blob = replicas.getPageBlobClient(`rg/${vm}/${d.name}`);
      await blob.create(DISK_BYTES);
      await blob.uploadPages(initial[d.lun]!, 0, DISK_BYTES);
    }
    await stores.items.create({
      resourceGroup: 'rg',
      vm,
      state: 'Protected',
      generation: 1,
      disks: DISKS,
      applyEnabled: true,
      watermark: 0,
      ...overrides,
    });
    return initial;
  }

  function makeDelta(vm: string, sequence: number, entries: DeltaEntry[], generation = 1): Delta {
    return {
      vmId: `rg/${vm}`,
      generation,
      sequence,
      firstWriteTime: 1_000 + sequence,
      lastWriteTime: 2_000 + sequence,
      appConsistent: false,
      heartbeat: entries.length === 0,
      entries,
    };
  }

  async function upload(delta: Delta, body = encodeDelta(delta)): Promise<string> {
    const name = deltaBlobName({
      resourceGroup: 'rg',
      vm: delta.vmId.split('/')[1]!,
      generation: delta.generation,
      sequence: delta.sequence,
    });
    await cache.getBlockBlobClient(name).uploadData(body, { metadata: deltaBlobMetadata(delta) });
    return name;
  }

  async function readReplicas(vm: string): Promise<Buffer[]> {
    return Promise.all(DISKS.map((d) => replicas.getPageBlobClient(`rg/${vm}/${d.name}`).downloadToBuffer()));
  }

  function applier(): DeltaApplier {
    return new DeltaApplier(stores, { clock: new SystemClock(), logger: new RecordingLogger() });
  }

  const entryArb: fc.Arbitrary<DeltaEntry> = fc
    .record({
      disk: fc.integer({ min: 0, max: 1 }),
      page: fc.integer({ min: 0, max: DISK_BYTES / 512 - 1 }),
      pages: fc.integer({ min: 1, max: 16 }),
      fill: fc.integer({ min: 0, max: 255 }),
      zero: fc.boolean(),
    })
    .map(({ disk, page, pages, fill, zero }) => {
      const length = Math.min(pages, DISK_BYTES / 512 - page) * 512;
      return zero
        ? { disk, offset: page * 512, zeroLength: length }
        : { disk, offset: page * 512, data: Buffer.alloc(length, fill) };
    });

  it('applies deltas arriving in any order, with duplicates and concurrency, as an in-order replay', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(entryArb, { maxLength: 6 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
        fc.boolean(),
        fc.boolean(),
        async (batches, order, concurrent, withContent) => {
          const vm = uniqueName('vm');
          const initial = await protect(vm);
          const deltas = batches.map((entries, i) => makeDelta(vm, i + 1, entries));
          // Arrival order: a permutation with some deltas announced twice.
          const arrivals = deltas.map((d, i) => ({ d, key: order[i % order.length]! * 100 + i }));
          arrivals.push(
            ...deltas
              .filter((_, i) => order[i]! % 3 === 0)
              .map((d, i) => ({ d, key: order[(i + 5) % 16]! * 100 + 50 })),
          );
          arrivals.sort((a, b) => a.key - b.key);
          const a = applier();
          const events: Promise<unknown>[] = [];
          for (const { d } of arrivals) {
            const name = await upload(d).catch(() =>
              deltaBlobName({ resourceGroup: 'rg', vm, generation: 1, sequence: d.sequence }),
            );
            // A blob trigger hands the applier the bytes it read.
            const event = a.onDelta(name, withContent ? encodeDelta(d) : undefined);
            if (concurrent) events.push(event);
            else await event;
          }
          await Promise.all(events);

          const expected = initial.map((b) => Buffer.from(b));
          for (const d of deltas) {
            for (const e of d.entries) {
              if ('zeroLength' in e) expected[e.disk]!.fill(0, e.offset, e.offset + e.zeroLength);
              else e.data.copy(expected[e.disk]!, e.offset);
            }
          }
          const actual = await readReplicas(vm);
          expect(actual[0]!.equals(expected[0]!)).toBe(true);
          expect(actual[1]!.equals(expected[1]!)).toBe(true);
          const item = await stores.items.get('rg', vm);
          expect(item?.watermark).toBe(deltas.length);
          expect(item?.watermarkTime).toBe(2_000 + deltas.length);
          // Everything applied was journaled and left the cache.
          const cached = [];
          for await (const b of cache.listBlobsFlat({ prefix: `rg/${vm}/` })) cached.push(b.name);
          expect(cached).toEqual([]);
          const journaled = await journaledDeltas(stores.journal, { resourceGroup: 'rg', vm });
          expect(journaled.map((d) => d.sequence)).toEqual(deltas.map((d) => d.sequence));
        },
      ),
      { numRuns: 12 },
    );
  });

  it("applies the trigger's copy of a delta without downloading it again", async () => {
    const vm = uniqueName('vm');
    await protect(vm);
    const delta = makeDelta(vm, 1, [{ disk: 1, offset: 512, data: Buffer.alloc(512, 0x77) }]);
    const name = await upload(delta);
    // Gone from the cache: only the bytes handed over can be applied.
    await cache.getBlobClient(name).delete();
    expect(await applier().onDelta(name, encodeDelta(delta))).toMatchObject({
      outcome: 'applied',
      applied: 1,
      watermark: 1,
    });
    expect((await readReplicas(vm))[1]!.subarray(512, 1024).equals(Buffer.alloc(512, 0x77))).toBe(true);
  });

  it("stops waiting for the VM's lease once its holder has applied the trigger's delta", async () => {
    const vm = uniqueName('vm');
    await protect(vm);
    const name = await upload(makeDelta(vm, 1, [{ disk: 0, offset: 0, data: Buffer.alloc(512, 9) }]));
    const holder = await new VmLocks(stores.locks, new SystemClock()).acquire('rg', vm, 1000);
    expect(holder).toBeDefined();
    try {
      const waiting = applier().onDelta(name);
      await new Promise((r) => setTimeout(r, 300));
      // The holder applies delta 1 (here: moves the watermark as it would).
      const item = (await stores.items.get('rg', vm))!;
      await stores.items.update(item, { watermark: 1 });
      const started = Date.now();
      expect(await waiting).toMatchObject({ outcome: 'duplicate', watermark: 1 });
      // Well before the 60 s lease wait: within one back-off step.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await holder?.release();
    }
  });

  it('keeps deltas waiting while initial replication runs, then drains them in order', async () => {
    const vm = uniqueName('vm');
    await protect(vm, { state: 'InitialReplication', applyEnabled: false });
    const a = applier();
    const n1 = await upload(makeDelta(vm, 1, [{ disk: 0, offset: 0, data: Buffer.alloc(512, 1) }]));
    const n2 = await upload(makeDelta(vm, 2, [{ disk: 0, offset: 0, data: Buffer.alloc(512, 2) }]));
    expect((await a.onDelta(n1)).outcome).toBe('notReady');
    expect((await a.onDelta(n2)).outcome).toBe('notReady');
    const item = (await stores.items.get('rg', vm))!;
    await stores.items.update(item, { state: 'Protected', applyEnabled: true });
    expect(await a.drain('rg', vm)).toMatchObject({ outcome: 'applied', applied: 2, watermark: 2 });
    expect((await readReplicas(vm))[0]!.subarray(0, 512).equals(Buffer.alloc(512, 2))).toBe(true);
  });

  it('quarantines a corrupt delta, marks the item ResyncRequired, and applies nothing after it', async () => {
    const vm = uniqueName('vm');
    const initial = await protect(vm);
    const a = applier();
    await a.onDelta(await upload(makeDelta(vm, 1, [{ disk: 1, offset: 512, data: Buffer.alloc(512, 7) }])));
    const bad = encodeDelta(makeDelta(vm, 2, [{ disk: 1, offset: 0, data: Buffer.alloc(512, 8) }]));
    bad[bad.length - 100] ^= 0xff;
    const badName = await upload(makeDelta(vm, 2, []), bad);
    const result = await a.onDelta(badName);
    expect(result).toMatchObject({ outcome: 'quarantined', sequence: 2 });
    const item = await stores.items.get('rg', vm);
    expect(item).toMatchObject({ state: 'ResyncRequired', watermark: 1, applyEnabled: false });
    expect(item?.resyncReason).toMatch(/DeltaBadChecksum/);
    const q = stores.quarantine.getBlobClient(badName);
    expect((await q.getProperties()).metadata?.code).toBe('DeltaBadChecksum');
    expect(await cache.getBlobClient(badName).exists()).toBe(false);
    const n3 = await upload(makeDelta(vm, 3, [{ disk: 1, offset: 0, data: Buffer.alloc(512, 9) }]));
    expect((await a.onDelta(n3)).outcome).toBe('notReady');
    const disks = await readReplicas(vm);
    expect(disks[1]!.subarray(0, 512).equals(initial[1]!.subarray(0, 512))).toBe(true);
  });

  it('refuses a delta whose name and content disagree, or that writes past a disk', async () => {
    const vm = uniqueName('vm');
    await protect(vm);
    const a = applier();
    const past = makeDelta(vm, 1, [{ disk: 1, offset: DISK_BYTES, data: Buffer.alloc(512, 1) }]);
    expect(await a.onDelta(await upload(past))).toMatchObject({ outcome: 'quarantined' });
    const vm2 = uniqueName('vm');
    await protect(vm2);
    // A delta of another VM uploaded under this VM's name (the agent SAS can't be prefix-scoped).
    const foreign = encodeDelta(makeDelta(vm, 1, [{ disk: 0, offset: 0, data: Buffer.alloc(512, 1) }]));
    const name = deltaBlobName({ resourceGroup: 'rg', vm: vm2, generation: 1, sequence: 1 });
    await cache.getBlockBlobClient(name).uploadData(foreign);
    expect(await a.onDelta(name)).toMatchObject({ outcome: 'quarantined' });
  });

  it('quarantines a delta whose content is of another generation than its name says', async () => {
    const vm = uniqueName('vm');
    await protect(vm);
    const a = applier();
    const body = encodeDelta(makeDelta(vm, 1, [{ disk: 0, offset: 0, data: Buffer.alloc(512, 1) }], 2));
    const name = deltaBlobName({ resourceGroup: 'rg', vm, generation: 1, sequence: 1 });
    await cache.getBlockBlobClient(name).uploadData(body);
    expect(await a.onDelta(name)).toMatchObject({ outcome: 'quarantined', sequence: 1 });
    const item = await stores.items.get('rg', vm);
    expect(item).toMatchObject({ state: 'ResyncRequired', watermark: 0 });
    expect(item?.resyncReason).toMatch(/DeltaBadGeneration/);
    expect((await stores.quarantine.getBlobClient(name).getProperties()).metadata?.code).toBe(
      'DeltaBadGeneration',
    );
  });

  it('drops stale generations and duplicates, and advances on heartbeats', async () => {
    const vm = uniqueName('vm');
    await protect(vm, { generation: 2 });
    const a = applier();
    const old = await upload(makeDelta(vm, 5, [], 1));
    expect((await a.onDelta(old)).outcome).toBe('duplicate');
    expect(await cache.getBlobClient(old).exists()).toBe(false);
    const hb = await upload(makeDelta(vm, 1, [], 2));
    expect(await a.onDelta(hb)).toMatchObject({ outcome: 'applied', watermark: 1 });
    const again = await upload(makeDelta(vm, 1, [], 2));
    expect((await a.onDelta(again)).outcome).toBe('duplicate');
    expect((await stores.items.get('rg', vm))?.watermarkTime).toBe(2_001);
  });

  it('a crash mid-delta (some pages written, watermark not moved) is repaired by applying again', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(entryArb, { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 5 }),
        fc.nat(),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        async (batches, crashAt, written) => {
          const vm = uniqueName('vm');
          const initial = await protect(vm);
          const deltas = batches.map((entries, i) => makeDelta(vm, i + 1, entries));
          const k = crashAt % deltas.length;
          const a = applier();
          for (const d of deltas.slice(0, k)) await a.onDelta(await upload(d));
          // The crashed run: delta k+1 and the one after it partly on the replicas, nothing committed.
          for (const d of deltas.slice(k, k + 2)) {
            await upload(d);
            for (const [i, op] of coalesce(d.entries).entries()) {
              if (!written[i % written.length]) continue;
              const disk = DISKS[op.disk]!;
              const blob = replicas.getPageBlobClient(`rg/${vm}/${disk.name}`);
              if (op.kind === 'put') await blob.uploadPages(op.data, op.offset, op.data.length);
              else await blob.clearPages(op.offset, op.length);
            }
          }
          for (const d of deltas.slice(k + 2)) await upload(d);
          expect(await a.drain('rg', vm)).toMatchObject({ outcome: 'applied', watermark: deltas.length });
          const expected = initial.map((b) => Buffer.from(b));
          for (const d of deltas) {
            for (const e of d.entries) {
              if ('zeroLength' in e) expected[e.disk]!.fill(0, e.offset, e.offset + e.zeroLength);
              else e.data.copy(expected[e.disk]!, e.offset);
            }
          }
          const actual = await readReplicas(vm);
          expect(actual[0]!.equals(expected[0]!) && actual[1]!.equals(expected[1]!)).toBe(true);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('journals exactly the deltas it applies, byte for byte, and nothing from a bad one on', async () => {
    const vm = uniqueName('vm');
    const initial = await protect(vm);
    const deltas: Delta[] = [];
    const bodies: Buffer[] = [];
    const names: string[] = [];
    for (let seq = 1; seq <= 40; seq++) {
      const entries: DeltaEntry[] = [0, 1, 2].map((i) => ({
        disk: (seq + i) % 2,
        offset: ((seq * 7 + i * 13) % 120) * 512,
        data: Buffer.alloc(512 * (1 + ((seq + i) % 4)), seq),
      }));
      const delta = makeDelta(vm, seq, entries);
      const body = encodeDelta(delta);
      if (seq === 30) body[body.length - 10] ^= 0xff;
      deltas.push(delta);
      bodies.push(body);
      names.push(await upload(delta, body));
    }
    expect(await applier().drain('rg', vm)).toMatchObject({ outcome: 'quarantined', sequence: 30 });
    expect(await stores.items.get('rg', vm)).toMatchObject({ state: 'ResyncRequired', watermark: 29 });
    const reader = new JournalReader(stores.journal, { resourceGroup: 'rg', vm, generation: 1 }, 1);
    for (let i = 0; i < 40; i++) {
      if (i < 29) {
        expect((await reader.next())?.equals(bodies[i]!), `journaled ${i + 1}`).toBe(true);
        expect(await cache.getBlobClient(names[i]!).exists()).toBe(false);
      } else {
        expect(await cache.getBlobClient(names[i]!).exists()).toBe(i > 29);
      }
    }
    // Nothing from the bad delta on: the journal ends at 29.
    expect(await reader.next()).toBeUndefined();
    reader.close();
    expect((await journaledDeltas(stores.journal, { resourceGroup: 'rg', vm })).at(-1)?.sequence).toBe(29);
    // One blob for all of them: the segment of sequences 0-255.
    expect((await journalBlobs(stores.journal, { resourceGroup: 'rg', vm })).map((b) => b.blobName)).toEqual([
      `rg/${vm}/1/00000000000000000000.journal`,
    ]);
    const expected = initial.map((b) => Buffer.from(b));
    for (const d of deltas.slice(0, 29)) {
      for (const e of d.entries) if ('data' in e) e.data.copy(expected[e.disk]!, e.offset);
    }
    const actual = await readReplicas(vm);
    expect(actual[0]!.equals(expected[0]!) && actual[1]!.equals(expected[1]!)).toBe(true);
  });

  it('catches up a backlog in batches, records stats, and ends a batch at an app-consistent delta', async () => {
    const vm = uniqueName('vm');
    await protect(vm);
    const cuts: number[] = [];
    const a = new DeltaApplier(stores, {
      clock: new SystemClock(),
      logger: new RecordingLogger(),
      onAppConsistent: async ({ delta }) => {
        cuts.push(delta.sequence);
      },
    });
    for (let seq = 1; seq <= 20; seq++) {
      const d = makeDelta(vm, seq, [{ disk: 0, offset: (seq % 8) * 512, data: Buffer.alloc(512, seq) }]);
      await upload({ ...d, appConsistent: seq === 7 });
    }
    expect(await a.drain('rg', vm)).toMatchObject({ outcome: 'applied', applied: 20, watermark: 20 });
    expect(cuts).toEqual([7]);
    const item = await stores.items.get('rg', vm);
    expect(item?.lastAppConsistentSequence).toBe(7);
    expect(item?.stats).toMatchObject({ deltasApplied: 20, bytesApplied: 20 * 512 });
    expect(item?.stats?.lagMs).toBeGreaterThanOrEqual(0);
  });
});
