import { describe, expect, it } from 'vitest';

import { writeAgentConfig } from '../../../shared/agentConfig';
import { ManualClock, SystemClock } from '../../../shared/clock';
import { RecordingLogger } from '../../../shared/logger';
import { cutHeld, cutRecoveryPoint } from '../../../shared/recoveryPoints/cut';
import { runRecoveryPoints, runVmRecoveryPoints } from '../../../shared/recoveryPoints/run';
import { DeltaApplier } from '../../../shared/replication/applier';
import { VmLocks } from '../../../shared/replication/vmLease';
import { fakeAgentConfig } from '../../helpers/agentCredentials';
import { uniqueName } from '../../helpers/azurite';
import { applyEntries, DISKS, makeDelta, useRig } from './support';

const MIN = 60_000;

describe('recovery points: cut, app-consistent, cap, prune (real Azurite)', () => {
  const rig = useRig();

  function cutDeps(clock = new SystemClock()) {
    return { ...rig().points, clock };
  }

  it('cuts under the lease: one snapshot per disk at the watermark, recorded; nothing new, no new point', async () => {
    const { points, replicas } = rig();
    const vm = uniqueName('vm');
    const initial = await rig().protect(vm);
    const clock = new SystemClock();
    expect(await cutRecoveryPoint(cutDeps(), 'rg', vm, 'CrashConsistent')).toEqual({
      outcome: 'nothingApplied',
    });
    const applier = rig().newApplier(clock);
    const writes = [{ disk: 1, offset: 4096, data: Buffer.alloc(1024, 0xab) }];
    await applier.onDelta(await rig().upload(makeDelta(vm, 1, writes, { first: 1000, last: 1500 })));
    await applier.onDelta(await rig().upload(makeDelta(vm, 2, [], { first: 2000, last: 2000 })));

    const first = await cutRecoveryPoint(cutDeps(), 'rg', vm, 'CrashConsistent');
    expect(first).toMatchObject({
      outcome: 'cut',
      point: { id: 'rp-1-2', type: 'CrashConsistent', generation: 1, sequence: 2, time: 2000 },
    });
    if (first.outcome !== 'cut') throw new Error('not cut');
    expect(first.point.disks.map((d) => d.name)).toEqual(['os', 'data']);
    expect(await points.catalog.list('rg', vm)).toEqual([first.point]);
    expect(await points.catalog.newest('rg', vm)).toEqual(first.point);
    expect(await points.catalog.get('rg', vm, 'rp-1-2')).toEqual(first.point);
    const expected = applyEntries(initial, writes);
    const bytes = await rig().snapshotBytes(first.point);
    expect(bytes[0]!.equals(expected[0]!) && bytes[1]!.equals(expected[1]!)).toBe(true);

    // Nothing new: no second point, no second snapshot.
    expect(await cutRecoveryPoint(cutDeps(), 'rg', vm, 'CrashConsistent')).toMatchObject({
      outcome: 'unchanged',
    });
    expect(await points.catalog.list('rg', vm)).toHaveLength(1);
    expect(await rig().snapshots(vm)).toHaveLength(DISKS.length);
    // Later writes to the replica do not change the point.
    await replicas.getPageBlobClient(`rg/${vm}/os`).uploadPages(Buffer.alloc(512, 0xff), 0, 512);
    expect((await rig().snapshotBytes(first.point))[0]!.equals(expected[0]!)).toBe(true);
  });

  it('waits for the lease and cuts nothing while another holder keeps it', async () => {
    const vm = uniqueName('vm');
    await rig().protect(vm, { watermark: 3, watermarkTime: 5000 });
    const lease = await new VmLocks(rig().points.locks, new SystemClock()).acquire('rg', vm, 1000);
    try {
      expect(await cutRecoveryPoint(cutDeps(), 'rg', vm, 'CrashConsistent', { leaseWaitMs: 300 })).toEqual({
        outcome: 'busy',
      });
      const run = await runRecoveryPoints(rig().points, {
        clock: new SystemClock(),
        logger: new RecordingLogger(),
        leaseWaitMs: 300,
      });
      expect(run.find((r) => r.vm === `rg/${vm}`)).toMatchObject({ outcome: 'busy' });
    } finally {
      await lease!.release();
    }
    expect(await rig().points.catalog.list('rg', vm)).toEqual([]);
    expect(await cutRecoveryPoint(cutDeps(), 'rg', vm, 'CrashConsistent')).toMatchObject({ outcome: 'cut' });
  });

  it('the applier cuts an app-consistent point right after an app-consistent delta', async () => {
    const vm = uniqueName('vm');
    let shadow = await rig().protect(vm);
    const shadows = [shadow];
    const applier = rig().newApplier(new SystemClock());
    for (let seq = 1; seq <= 6; seq++) {
      const entries = [{ disk: seq % 2, offset: seq * 512, data: Buffer.alloc(512, seq) }];
      shadow = applyEntries(shadow, entries);
      shadows.push(shadow);
      await rig().upload(
        makeDelta(vm, seq, entries, { first: seq * 1000, last: seq * 1000 + 10 }, seq === 3),
      );
    }
    expect(await applier.drain('rg', vm)).toMatchObject({ outcome: 'applied', watermark: 6 });
    const [ac] = await rig().points.catalog.list('rg', vm);
    expect(ac).toMatchObject({ id: 'rp-1-3', type: 'AppConsistent', sequence: 3, time: 3010 });
    const bytes = await rig().snapshotBytes(ac!);
    expect(bytes.every((b, i) => b.equals(shadows[3]![i]!))).toBe(true);

    // The timer's crash-consistent point at 6 comes on top.
    expect(await cutRecoveryPoint(cutDeps(), 'rg', vm, 'CrashConsistent')).toMatchObject({
      outcome: 'cut',
      point: { sequence: 6, type: 'CrashConsistent' },
    });
  });

  it('an app-consistent cut at the watermark of a crash-consistent point upgrades it; a missed hook is made good', async () => {
    const vm = uniqueName('vm');
    await rig().protect(vm, { watermark: 4, watermarkTime: 4000 });
    const deps = cutDeps();
    expect(await cutRecoveryPoint(deps, 'rg', vm, 'CrashConsistent')).toMatchObject({ outcome: 'cut' });
    const item = (await rig().points.items.get('rg', vm))!;
    expect(await cutHeld(deps, item, 'AppConsistent')).toMatchObject({
      outcome: 'upgraded',
      point: { id: 'rp-1-4', type: 'AppConsistent' },
    });
    expect(await rig().points.catalog.list('rg', vm)).toMatchObject([
      { id: 'rp-1-4', type: 'AppConsistent' },
    ]);
    expect(await rig().snapshots(vm)).toHaveLength(DISKS.length);

    // An applier without the hook: the timer sees the app-consistent watermark and cuts it as such.
    const vm2 = uniqueName('vm');
    await rig().protect(vm2);
    const plain = new DeltaApplier(rig().applier, {
      clock: new SystemClock(),
      logger: new RecordingLogger(),
    });
    await plain.onDelta(await rig().upload(makeDelta(vm2, 1, [], { first: 10, last: 10 }, true)));
    await runRecoveryPoints(rig().points, { clock: new SystemClock(), logger: new RecordingLogger() });
    expect(await rig().points.catalog.list('rg', vm2)).toMatchObject([
      { id: 'rp-1-1', type: 'AppConsistent' },
    ]);
  });

  it('never holds more than 100 snapshots per disk', async () => {
    const vm = uniqueName('vm');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    await rig().protect(vm, { policy: { retentionHours: 2 } }, [DISKS[0]!]);
    const applier = rig().newApplier(clock);
    const logger = new RecordingLogger();
    for (let seq = 1; seq <= 110; seq++) {
      await clock.advance(MIN);
      await applier.onDelta(
        await rig().upload(makeDelta(vm, seq, [], { first: clock.now(), last: clock.now() })),
      );
      const mine = await runVmRecoveryPoints(rig().points, { clock, logger }, 'rg', vm);
      expect(mine).toMatchObject({ outcome: 'done', cut: 'cut' });
      expect(mine.points).toBeLessThanOrEqual(100);
      if (seq > 95) expect((await rig().snapshots(vm)).length).toBeLessThanOrEqual(100);
    }
    const points = await rig().points.catalog.list('rg', vm);
    expect(points).toHaveLength(100);
    expect(points[0]!.sequence).toBe(110);
    expect(points.at(-1)!.sequence).toBe(1);
    const named = points.map((p) => `os@${p.disks[0]!.snapshot}`).sort();
    expect(await rig().snapshots(vm)).toEqual(named);
  });

  it('pruned points leave no snapshot behind; orphans go; the journal keeps only what a point can replay', async () => {
    const vm = uniqueName('vm');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    // From sequence 251 on, so the journal crosses its first segment boundary (256) in the rounds.
    let seq = 250;
    await rig().protect(vm, { policy: { retentionHours: 0 }, watermark: seq });
    const applier = rig().newApplier(clock);
    const logger = new RecordingLogger();
    // What the journal holds after each round's point (251..253, 254..256, 257..259, 260..262): a
    // segment goes once the point is at or past its last sequence (255), never part of one.
    const journalAfter = [[251, 252, 253], [256], [256, 257, 258, 259], [256, 257, 258, 259, 260, 261, 262]];
    for (let round = 1; round <= 4; round++) {
      for (let i = 0; i < 3; i++) {
        seq++;
        const entries = [{ disk: 0, offset: (seq % 64) * 512, data: Buffer.alloc(512, seq) }];
        await applier.onDelta(
          await rig().upload(makeDelta(vm, seq, entries, { first: clock.now(), last: clock.now() })),
        );
      }
      await clock.advance(5 * MIN);
      await runVmRecoveryPoints(rig().points, { clock, logger }, 'rg', vm);
      const points = await rig().points.catalog.list('rg', vm);
      expect(points.map((p) => p.sequence)).toEqual([seq]);
      expect(await rig().snapshots(vm)).toEqual(
        points[0]!.disks.map((d) => `${d.name}@${d.snapshot}`).sort(),
      );
      expect(await rig().journalSequences(vm)).toEqual(journalAfter[round - 1]);
    }
    // Deltas after the newest point stay in the journal.
    await applier.onDelta(
      await rig().upload(makeDelta(vm, ++seq, [], { first: clock.now(), last: clock.now() })),
    );
    expect(await rig().journalSequences(vm)).toEqual([...journalAfter[3]!, seq]);

    // A crash between deleting a point's row and its snapshots leaves orphans; the next prune removes them.
    const [newest] = await rig().points.catalog.list('rg', vm);
    const foreign = await rig().replicas.getPageBlobClient(`rg/${vm}/os`).createSnapshot();
    await rig().points.catalog.delete(newest!);
    await clock.advance(5 * MIN);
    await runVmRecoveryPoints(rig().points, { clock, logger }, 'rg', vm);
    const after = await rig().points.catalog.list('rg', vm);
    expect(after.map((p) => p.sequence)).toEqual([seq]);
    // Snapshots tidemark did not take are none of its business.
    expect(await rig().snapshots(vm)).toEqual(
      [...after[0]!.disks.map((d) => `${d.name}@${d.snapshot}`), `os@${foreign.snapshot}`].sort(),
    );
  });

  it('updates RPO and health on apply and on every run, and logs one metric line per VM', async () => {
    const vm = uniqueName('vm');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    await rig().protect(vm);
    const applier = rig().newApplier(clock);
    await clock.advance(10_000);
    await applier.onDelta(
      await rig().upload(makeDelta(vm, 1, [], { first: clock.now() - 2000, last: clock.now() - 2000 })),
    );
    // Applied, but no point yet.
    expect(await rig().points.items.get('rg', vm)).toMatchObject({
      rpoSeconds: 2,
      health: 'Critical',
      healthReasons: ['No recovery point yet'],
    });
    const logger = new RecordingLogger();
    await runRecoveryPoints(rig().points, { clock, logger });
    expect(await rig().points.items.get('rg', vm)).toMatchObject({
      rpoSeconds: 2,
      health: 'Healthy',
      healthReasons: [],
      lastRecoveryPointAt: clock.now(),
    });
    const metric = logger.records.find(
      (r) => r.fields.metric === 'replication' && r.fields.vm === `rg/${vm}`,
    );
    expect(metric?.fields).toMatchObject({
      rpoSeconds: 2,
      health: 'Healthy',
      points: 1,
      churnBytesPerSecond: 0,
    });
    expect(metric?.fields).toHaveProperty('lagMs');

    // The source goes quiet (no heartbeats): RPO grows, then no point for an hour.
    await clock.advance(20 * MIN);
    await runVmRecoveryPoints(rig().points, { clock, logger }, 'rg', vm);
    expect(await rig().points.items.get('rg', vm)).toMatchObject({
      health: 'Warning',
      rpoSeconds: 20 * 60 + 2,
    });
    await clock.advance(45 * MIN);
    await runVmRecoveryPoints(rig().points, { clock, logger }, 'rg', vm);
    const item = await rig().points.items.get('rg', vm);
    expect(item?.health).toBe('Critical');
    expect(item?.healthReasons).toHaveLength(2);
    expect(await rig().points.catalog.list('rg', vm)).toHaveLength(1);
  });

  it('a quarantined delta makes the item Critical', async () => {
    const vm = uniqueName('vm');
    await rig().protect(vm);
    const applier = rig().newApplier(new SystemClock());
    const past = makeDelta(vm, 1, [{ disk: 0, offset: 1024 * 1024, data: Buffer.alloc(512, 1) }], {
      first: 1,
      last: 1,
    });
    expect(await applier.onDelta(await rig().upload(past))).toMatchObject({ outcome: 'quarantined' });
    const item = await rig().points.items.get('rg', vm);
    expect(item?.health).toBe('Critical');
    expect(item?.healthReasons?.[0]).toMatch(/^Resync required: delta .* failed validation/);
  });

  it('asks the agent for an app-consistent bookmark every app-consistent interval', async () => {
    const vm = uniqueName('vm');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    await rig().protect(vm, {
      policy: { appConsistentFrequencyMinutes: 60 },
      watermark: 1,
      watermarkTime: clock.now(),
    });
    await writeAgentConfig(rig().points.agentConfig!, fakeAgentConfig({ vmId: `rg/${vm}` }));
    const counter = async (): Promise<unknown> => {
      const body = await rig().points.agentConfig!.getBlobClient(`rg/${vm}.json`).downloadToBuffer();
      return (JSON.parse(body.toString()) as { appConsistentRequest?: number }).appConsistentRequest;
    };
    const logger = new RecordingLogger();
    await runVmRecoveryPoints(rig().points, { clock, logger }, 'rg', vm);
    expect(await counter()).toBe(1);
    expect((await rig().points.items.get('rg', vm))?.appConsistentRequestedAt).toBe(clock.now());
    await clock.advance(30 * MIN);
    await runVmRecoveryPoints(rig().points, { clock, logger }, 'rg', vm);
    expect(await counter()).toBe(1);
    await clock.advance(30 * MIN);
    await runVmRecoveryPoints(rig().points, { clock, logger }, 'rg', vm);
    expect(await counter()).toBe(2);
  });
});
