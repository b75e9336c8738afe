import { describe, expect, it } from 'vitest';

import { ManualClock } from '../../../shared/clock';
import { RecordingLogger } from '../../../shared/logger';
import { duePointCutter } from '../../../shared/recoveryPoints/duePoint';
import { DeltaApplier } from '../../../shared/replication/applier';
import { uniqueName } from '../../helpers/azurite';
import { makeDelta, useRig } from './support';

const MIN = 60_000;

describe('a busy applier cuts due points between batches (real Azurite)', () => {
  const rig = useRig();

  it('cuts a crash-consistent point once the interval has passed, and not before', async () => {
    const vm = uniqueName('vm');
    await rig().protect(vm);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const cut = { ...rig().points, clock, logger: new RecordingLogger() };
    const applier = new DeltaApplier(rig().applier, {
      clock,
      logger: new RecordingLogger(),
      onBatchApplied: duePointCutter(cut, 5 * MIN),
    });
    const write = (seq: number) => [{ disk: 0, offset: (seq % 16) * 512, data: Buffer.alloc(512, seq) }];
    await applier.onDelta(await rig().upload(makeDelta(vm, 1, write(1), { first: 1, last: 1 })));
    // No point yet at all: the first batch cuts one at once.
    let points = await rig().points.catalog.list('rg', vm);
    expect(points.map((p) => p.sequence)).toEqual([1]);
    const item = await rig().points.items.get('rg', vm);
    expect(item?.lastRecoveryPointAt).toBe(clock.now());

    await clock.advance(2 * MIN);
    await applier.onDelta(await rig().upload(makeDelta(vm, 2, write(2), { first: 2, last: 2 })));
    points = await rig().points.catalog.list('rg', vm);
    expect(points.map((p) => p.sequence)).toEqual([1]);

    await clock.advance(3 * MIN);
    await applier.onDelta(await rig().upload(makeDelta(vm, 3, write(3), { first: 3, last: 3 })));
    points = await rig().points.catalog.list('rg', vm);
    expect(points.map((p) => [p.sequence, p.type])).toEqual([
      [3, 'CrashConsistent'],
      [1, 'CrashConsistent'],
    ]);
  });
});
