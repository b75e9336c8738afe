/**
 * Recovery points hold exactly what the source held: each point against a shadow copy of the source
 * at its sequence, and any-point-in-time materialization against the shadow at the requested time.
 */
import { describe, expect, it } from 'vitest';

import { ManualClock, SystemClock } from '../../../shared/clock';
import { type DeltaEntry, deltaBlobMetadata, deltaBlobName, readDeltaHeader } from '../../../shared/delta';
import { isTidemarkError } from '../../../shared/errors';
import { journalBlobs, journaledDeltas, JournalWriter, segmentStart } from '../../../shared/journal';
import { RecordingLogger } from '../../../shared/logger';
import type { RecoveryPointCatalog } from '../../../shared/recoveryPoints/catalog';
import { cutRecoveryPoint } from '../../../shared/recoveryPoints/cut';
import { materializeAt, type MaterializeDeps } from '../../../shared/recoveryPoints/materialize';
import { deletePoints } from '../../../shared/recoveryPoints/prune';
import { replayJournal } from '../../../shared/recoveryPoints/replay';
import { runVmRecoveryPoints } from '../../../shared/recoveryPoints/run';
import { uniqueName } from '../../helpers/azurite';
import { waitFor } from '../../helpers/waitFor';
import { applyEntries, DISK_BYTES, DISKS, makeDelta, useRig } from './support';

const T0 = Date.UTC(2026, 0, 1);

/** A small seeded generator, so a failure can be replayed. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function randomEntries(rnd: (n: number) => number): DeltaEntry[] {
  const pages = DISK_BYTES / 512;
  return Array.from({ length: rnd(5) }, () => {
    const page = rnd(pages);
    const length = Math.min(1 + rnd(16), pages - page) * 512;
    const disk = rnd(DISKS.length);
    return rnd(5) === 0
      ? { disk, offset: page * 512, zeroLength: length }
      : { disk, offset: page * 512, data: Buffer.alloc(length, 1 + rnd(255)) };
  });
}

describe('recovery point content (real Azurite, shadow copies)', () => {
  const rig = useRig();

  function deps(catalog?: RecoveryPointCatalog): MaterializeDeps {
    const p = rig().points;
    return { replicas: p.replicas, journal: p.journal, catalog: catalog ?? p.catalog, items: p.items };
  }

  async function restored(disks: { blobName: string }[]): Promise<Buffer[]> {
    return Promise.all(disks.map((d) => rig().restores.getBlobClient(d.blobName).downloadToBuffer()));
  }

  function same(a: Buffer[], b: Buffer[]): boolean {
    return a.length === b.length && a.every((x, i) => x.equals(b[i]!));
  }

  /** Applies deltas 1..12 of random writes (source time seq × 10), cutting a point after each of `cutAfter`. */
  async function applyTwelveDeltas(
    vm: string,
    rnd: (n: number) => number,
    shadows: Buffer[][],
    cutAfter: number[],
  ): Promise<ReturnType<ReturnType<typeof rig>['newApplier']>> {
    const applier = rig().newApplier(new SystemClock());
    const cutDeps = { ...rig().points, clock: new SystemClock() };
    for (let seq = 1; seq <= 12; seq++) {
      const entries = randomEntries(rnd);
      shadows.push(applyEntries(shadows[seq - 1]!, entries));
      await applier.onDelta(
        await rig().upload(makeDelta(vm, seq, entries, { first: seq * 10, last: seq * 10 })),
      );
      if (cutAfter.includes(seq)) {
        expect(await cutRecoveryPoint(cutDeps, 'rg', vm, 'CrashConsistent')).toMatchObject({
          outcome: 'cut',
        });
      }
    }
    return applier;
  }

  /** Streams `count` random deltas through the applier, cutting points now and then; keeps shadows. */
  async function replicate(vm: string, count: number, seed: number, stepMs: number, cutEvery: number) {
    const rnd = prng(seed);
    const clock = new ManualClock(T0);
    const shadows = [await rig().protect(vm)];
    const times = [0];
    const applier = rig().newApplier(clock);
    for (let seq = 1; seq <= count; seq++) {
      await clock.advance(stepMs);
      const entries = randomEntries(rnd);
      shadows.push(applyEntries(shadows[seq - 1]!, entries));
      times.push(clock.now());
      const delta = makeDelta(vm, seq, entries, { first: clock.now() - stepMs / 2, last: clock.now() });
      await applier.onDelta(await rig().upload(delta));
      if (rnd(cutEvery) === 0)
        await runVmRecoveryPoints(rig().points, { clock, logger: new RecordingLogger() }, 'rg', vm);
    }
    return { shadows, times, clock };
  }

  /** The sequence the source was at, at source time `t`: the last delta written at or before it. */
  function sequenceAt(times: number[], t: number): number {
    let seq = 0;
    for (let i = 1; i < times.length; i++) if (times[i]! <= t) seq = i;
    return seq;
  }

  it('every point equals the source at its sequence; any time materializes to the source at that time', async () => {
    const vm = uniqueName('vm');
    const { shadows, times } = await replicate(vm, 60, 7, 10_000, 5);
    const points = await rig().points.catalog.list('rg', vm);
    expect(points.length).toBeGreaterThan(5);
    for (const p of points) {
      expect(same(await rig().snapshotBytes(p), shadows[p.sequence]!), `point ${p.id}`).toBe(true);
      expect(p.time).toBe(times[p.sequence]);
    }

    const rnd = prng(99);
    const oldest = points.at(-1)!.time;
    const picks = [
      oldest,
      times[60]!,
      times[60]! + 60_000,
      ...Array.from({ length: 12 }, () => oldest + rnd(times[60]! - oldest)),
    ];
    picks.push(...Array.from({ length: 3 }, () => times[points.at(-1)!.sequence + 1]! - 1));
    for (const [k, t] of picks.entries()) {
      const result = await materializeAt(
        deps(),
        { resourceGroup: 'rg', vm, time: t },
        { container: rig().restores, prefix: `${vm}/t${k}/` },
      );
      const seq = sequenceAt(times, t);
      expect(result.replayedThrough.sequence, `time ${t - T0}`).toBe(seq);
      expect(result.point.time).toBeLessThanOrEqual(t);
      expect(result.replayedDeltas).toBe(seq - result.point.sequence);
      expect(result.disks.map((d) => [d.name, d.blobName, d.sizeBytes])).toEqual(
        DISKS.map((d) => [d.name, `${vm}/t${k}/${d.name}`, d.sizeBytes]),
      );
      expect(same(await restored(result.disks), shadows[seq]!), `time ${t - T0} (seq ${seq})`).toBe(true);
    }

    // As of a point: its snapshots, nothing replayed; copied through this process and server-side
    // (which Azurite's aliasing copies make safe only as long as nothing writes the copy).
    const middle = points[Math.floor(points.length / 2)]!;
    for (const copy of ['auto', 'server'] as const) {
      const byId = await materializeAt(
        deps(),
        { resourceGroup: 'rg', vm, pointId: middle.id },
        { container: rig().restores, prefix: `${vm}/id-${copy}/`, copy },
      );
      expect(byId).toMatchObject({ replayedDeltas: 0, replayedThrough: { sequence: middle.sequence } });
      expect(same(await restored(byId.disks), shadows[middle.sequence]!)).toBe(true);
    }

    // Before the oldest point, or an unknown id: NotFound.
    for (const at of [{ time: oldest - 1 }, { pointId: 'rp-1-100000' }]) {
      const err = await materializeAt(
        deps(),
        { resourceGroup: 'rg', vm, ...at },
        {
          container: rig().restores,
          prefix: `${vm}/none/`,
        },
      ).catch((e: unknown) => e);
      expect(isTidemarkError(err, 'NotFound'), String(err)).toBe(true);
    }
  });

  it('after thinning and journal pruning, every time since the oldest point still materializes exactly', async () => {
    const vm = uniqueName('vm');
    // A run every 5 minutes of source time for 4 hours, retention 1 hour: most points and journal go.
    // Step k applies sequence 240 + k, so the journal's first segment (0..255) fills and is pruned.
    const seq0 = 240;
    const rnd = prng(3);
    const clock = new ManualClock(T0);
    const shadows = [await rig().protect(vm, { policy: { retentionHours: 1 }, watermark: seq0 })];
    const times = [0];
    const applier = rig().newApplier(clock);
    for (let step = 1; step <= 48; step++) {
      await clock.advance(5 * 60_000);
      const entries = randomEntries(rnd);
      shadows.push(applyEntries(shadows[step - 1]!, entries));
      times.push(clock.now());
      const delta = makeDelta(vm, seq0 + step, entries, { first: clock.now(), last: clock.now() });
      await applier.onDelta(await rig().upload(delta));
      await runVmRecoveryPoints(rig().points, { clock, logger: new RecordingLogger() }, 'rg', vm);
    }
    const points = await rig().points.catalog.list('rg', vm);
    const oldest = points.at(-1)!;
    expect(points).toHaveLength(13);
    expect(times.at(-1)! - oldest.time).toBe(60 * 60_000);
    // Whole segments below the oldest point went; the one it replays from stays whole.
    const first = segmentStart(oldest.sequence + 1);
    expect(first).toBe(256);
    expect(await rig().journalSequences(vm)).toEqual(
      Array.from({ length: seq0 + 48 - first + 1 }, (_, i) => first + i),
    );
    const picks = [
      oldest.time,
      times.at(-1)!,
      ...Array.from({ length: 6 }, () => oldest.time + rnd(60 * 60_000)),
    ];
    for (const [k, t] of picks.entries()) {
      const result = await materializeAt(
        deps(),
        { resourceGroup: 'rg', vm, time: t },
        { container: rig().restores, prefix: `${vm}/p${k}/` },
      );
      expect(same(await restored(result.disks), shadows[sequenceAt(times, t)]!)).toBe(true);
    }
  });

  it('replays a journal written before segments (legacy per-delta blobs), and prunes it by the old rule', async () => {
    const vm = uniqueName('vm');
    const rnd = prng(5);
    const shadows = [await rig().protect(vm, { policy: { retentionHours: 0 } })];
    const applier = await applyTwelveDeltas(vm, rnd, shadows, [3]);
    // An installation upgraded after delta 8: 1..8 were journaled one blob each, 9..12 in a segment.
    const journal = rig().points.journal;
    const deltas = await journaledDeltas(journal, { resourceGroup: 'rg', vm }, { bodies: true });
    expect(deltas.map((d) => d.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const b of await journalBlobs(journal, { resourceGroup: 'rg', vm })) {
      await journal.deleteBlob(b.blobName);
    }
    const writer = new JournalWriter(journal);
    for (const d of deltas) {
      const ref = { resourceGroup: 'rg', vm, generation: 1, sequence: d.sequence };
      if (d.sequence > 8) await writer.append(ref, d.body!);
      else {
        await journal
          .getBlockBlobClient(deltaBlobName(ref))
          .uploadData(d.body!, { metadata: deltaBlobMetadata(readDeltaHeader(d.body!)) });
      }
    }
    for (const at of [6, 8, 11]) {
      const result = await materializeAt(
        deps(),
        { resourceGroup: 'rg', vm, time: at * 10 },
        { container: rig().restores, prefix: `${vm}/legacy${at}/` },
      );
      expect(result).toMatchObject({ point: { sequence: 3 }, replayedThrough: { sequence: at } });
      expect(same(await restored(result.disks), shadows[at]!), `as of delta ${at}`).toBe(true);
    }
    // A point at 13 and retention 0: the legacy blobs at or below it go, the segment (to 255) stays.
    await applier.onDelta(await rig().upload(makeDelta(vm, 13, [], { first: 130, last: 130 })));
    await runVmRecoveryPoints(
      rig().points,
      { clock: new SystemClock(), logger: new RecordingLogger() },
      'rg',
      vm,
    );
    expect((await rig().points.catalog.list('rg', vm)).map((p) => p.sequence)).toEqual([13]);
    expect((await journalBlobs(journal, { resourceGroup: 'rg', vm })).map((b) => b.kind)).toEqual([
      'segment',
    ]);
    expect(await rig().journalSequences(vm)).toEqual([9, 10, 11, 12, 13]);
  });

  it('a journal delta missing at or below the watermark was pruned: a retryable Conflict', async () => {
    const vm = uniqueName('vm');
    await rig().protect(vm);
    const applier = rig().newApplier(new SystemClock());
    for (let seq = 1; seq <= 6; seq++) {
      await applier.onDelta(await rig().upload(makeDelta(vm, seq, [], { first: seq * 10, last: seq * 10 })));
      if (seq === 2)
        await cutRecoveryPoint({ ...rig().points, clock: new SystemClock() }, 'rg', vm, 'CrashConsistent');
    }
    const [point] = await rig().points.catalog.list('rg', vm);
    const journal = rig().points.journal;
    for (const b of await journalBlobs(journal, { resourceGroup: 'rg', vm }))
      await journal.deleteBlob(b.blobName);
    const replay = (appliedThrough?: number) =>
      replayJournal({
        journal,
        point: point!,
        until: 1000,
        appliedThrough,
        blobFor: (lun) => rig().restores.getPageBlobClient(`${vm}/conflict/${lun}`),
      });
    const err = await replay(6).catch((e: unknown) => e);
    expect(isTidemarkError(err, 'Conflict') && err.retryable, String(err)).toBe(true);
    expect(String(err)).toMatch(/Journal delta 3 of rg\/.* was pruned while replaying/);
    // Past the watermark (or not known), a missing delta is just the end of the journal.
    expect(await replay(2)).toEqual({ sequence: 2, time: 20, deltas: 0 });
  });

  it('starts over from a kept point when the chosen one is pruned while materializing', async () => {
    const vm = uniqueName('vm');
    const rnd = prng(21);
    const shadows = [await rig().protect(vm)];
    await applyTwelveDeltas(vm, rnd, shadows, [2, 5, 9]);
    const stale = await rig().points.catalog.list('rg', vm);
    expect(stale.map((p) => p.sequence)).toEqual([9, 5, 2]);
    await deletePoints(rig().points, [stale[1]!]);
    // A reader that listed just before the prune: its first answer still names the pruned point.
    const real = rig().points.catalog;
    let first = true;
    const racing: RecoveryPointCatalog = {
      list: async (rg, name) => {
        if (!first) return real.list(rg, name);
        first = false;
        return stale;
      },
      get: (rg, name, id) => real.get(rg, name, id),
      newest: (rg, name) => real.newest(rg, name),
      put: (p) => real.put(p),
      delete: (p) => real.delete(p),
    };
    const result = await materializeAt(
      { ...deps(racing), logger: new RecordingLogger() },
      { resourceGroup: 'rg', vm, time: 75 },
      { container: rig().restores, prefix: `${vm}/race/` },
    );
    expect(result.point.sequence).toBe(2);
    expect(result.replayedThrough).toEqual({ sequence: 7, time: 70 });
    expect(same(await restored(result.disks), shadows[7]!)).toBe(true);
  });

  it('a point cut while deltas stream in is still exact', async () => {
    const vm = uniqueName('vm');
    const initial = await rig().protect(vm);
    const rnd = prng(42);
    const shadows = [initial];
    const applier = rig().newApplier(new SystemClock());
    const applies: Promise<unknown>[] = [];
    let streaming = true;
    const cuts: string[] = [];
    const cutter = (async () => {
      const cutDeps = { ...rig().points, clock: new SystemClock() };
      while (streaming) {
        const r = await cutRecoveryPoint(cutDeps, 'rg', vm, 'CrashConsistent', { leaseWaitMs: 10_000 });
        cuts.push(r.outcome === 'cut' ? `cut@${r.point.sequence}` : r.outcome);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const count = 40;
    for (let seq = 1; seq <= count; seq++) {
      const entries = randomEntries(rnd);
      shadows.push(applyEntries(shadows[seq - 1]!, entries));
      const name = await rig().upload(makeDelta(vm, seq, entries, { first: seq, last: seq }));
      applies.push(applier.onDelta(name));
      // Arrivals apart, as an agent's flushes are. On a busy machine an apply can take longer than
      // that, and an applier with a backlog keeps the lease: so every 10 deltas the stream waits for
      // the applies so far and for the cutter's next point, which makes points mid-stream certain
      // (the cutter runs all along; cuts also race the arrivals in between).
      await new Promise((resolve) => setTimeout(resolve, 50 + rnd(40)));
      if (seq % 10 === 0 && seq < count) {
        await Promise.all(applies);
        // A point at this very delta (the cutter may have cut it already while the applies settled).
        await waitFor(() => cuts.includes(`cut@${seq}`), {
          timeoutMs: 20_000,
          what: `a point at delta ${seq}`,
        });
      }
    }
    await Promise.all(applies);
    streaming = false;
    await cutter;
    await applier.drain('rg', vm);
    const points = await rig().points.catalog.list('rg', vm);
    const midStream = points.filter((p) => p.sequence < count);
    expect(midStream.length, JSON.stringify(cuts)).toBeGreaterThanOrEqual(3);
    for (const p of points) {
      expect(same(await rig().snapshotBytes(p), shadows[p.sequence]!), `point at ${p.sequence}`).toBe(true);
    }
  });
});
