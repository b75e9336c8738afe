/**
 * Recovery points over simulated time (an injected clock) on real storage: the timer's run every
 * 15 minutes for three days, for VMs with different policies side by side. (The exact rules at the
 * default 5-minute period are checked without storage in test/unit/recoveryPoints; Azurite's few
 * milliseconds per request make 864 runs per VM too slow for the suite.)
 */
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../../../shared/clock';
import { encodeDelta } from '../../../shared/delta';
import { JournalWriter, segmentStart } from '../../../shared/journal';
import { RecordingLogger } from '../../../shared/logger';
import type { ProtectedItem, ReplicationPolicy } from '../../../shared/protectedItems';
import { runRecoveryPoints } from '../../../shared/recoveryPoints/run';
import { makeDelta, useRig } from './support';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 1);
const PERIOD_MIN = 15;
/** Step k applies sequence SEQ0 + k: the journal crosses a segment boundary (256) within the run. */
const SEQ0 = 100;

function hhmm(t: number): string {
  return `${Math.floor((t - T0) / HOUR)}:${String(Math.floor(((t - T0) % HOUR) / MIN)).padStart(2, '0')}`;
}

/** hh:mm from `toMin` down to `fromMin` minutes after T0, every period. */
function window(fromMin: number, toMin: number): string[] {
  const out: string[] = [];
  for (let m = toMin; m >= fromMin; m -= PERIOD_MIN) out.push(hhmm(T0 + m * MIN));
  return out;
}

interface Sim {
  vm: string;
  policy: Partial<ReplicationPolicy>;
  /** Whether the delta at this step is app-consistent. */
  appConsistent: (step: number) => boolean;
  expected: string[];
}

describe('recovery points over three simulated days (injected clock, real Azurite)', () => {
  const rig = useRig();

  it('cuts a point every period, thins exactly by the rules, and leaves no snapshot or journal behind', async () => {
    const clock = new ManualClock(T0);
    const logger = new RecordingLogger();
    const sims: Sim[] = [
      {
        vm: 'day',
        policy: { retentionHours: 24 },
        appConsistent: (step) => (step * PERIOD_MIN) % 120 === 0,
        // The last 2 h whole; then per hour its app-consistent point (even hours) or its newest point.
        expected: [
          ...window(70 * 60, 72 * 60),
          ...Array.from({ length: 22 }, (_, i) => 69 - i).map((h) => (h % 2 === 0 ? `${h}:00` : `${h}:45`)),
        ],
      },
      {
        vm: 'threedays',
        policy: { retentionHours: 72 },
        appConsistent: () => false,
        expected: [...window(70 * 60, 72 * 60), ...Array.from({ length: 35 }, (_, i) => `${69 - 2 * i}:45`)],
      },
    ];
    for (const s of sims)
      await rig().protect(s.vm, { policy: s.policy }, [{ lun: 0, name: 'os', sizeBytes: 4096 }]);

    const steps = (3 * 24 * 60) / PERIOD_MIN;
    for (let step = 1; step <= steps; step++) {
      await clock.advance(PERIOD_MIN * MIN);
      await Promise.all(sims.map((s) => applied(s, step, clock.now())));
      const results = await runRecoveryPoints(rig().points, { clock, logger });
      // A point every period, cut now, at the new watermark.
      for (const r of results)
        expect(r, r.vm).toMatchObject({ outcome: 'done', cut: 'cut', health: 'Healthy' });
      if (step % 24 === 0 || step > steps - 2) {
        for (const s of sims) {
          const newest = await rig().points.catalog.newest('rg', s.vm);
          expect(newest).toMatchObject({ sequence: SEQ0 + step, time: clock.now(), cutAt: clock.now() });
        }
      }
    }

    // Nothing new since the last point: another run cuts nothing.
    await clock.advance(PERIOD_MIN * MIN);
    for (const r of await runRecoveryPoints(rig().points, { clock, logger })) {
      expect(r).toMatchObject({ outcome: 'done', cut: 'unchanged' });
    }

    const prunedSegments: string[] = [];
    for (const s of sims) {
      const points = await rig().points.catalog.list('rg', s.vm);
      expect(
        points.map((p) => hhmm(p.time)),
        s.vm,
      ).toEqual(s.expected);
      const appConsistent = points.filter((p) => p.type === 'AppConsistent').map((p) => hhmm(p.time));
      expect(appConsistent).toEqual(
        s.expected.filter((t, i) => s.appConsistent((points[i]!.time - T0) / (PERIOD_MIN * MIN)) && t),
      );
      // One snapshot per point, none left over from pruned points.
      expect(await rig().snapshots(s.vm)).toEqual(points.map((p) => `os@${p.disks[0]!.snapshot}`).sort());
      // The journal holds every delta after the oldest point, and of those before it only the ones
      // that share its segment with a delta after it: whole segments go.
      const oldest = points.at(-1)!.sequence;
      const from = Math.max(SEQ0 + 1, segmentStart(oldest + 1));
      expect(await rig().journalSequences(s.vm)).toEqual(
        Array.from({ length: SEQ0 + steps - from + 1 }, (_, i) => from + i),
      );
      if (from > SEQ0 + 1) prunedSegments.push(s.vm);
    }
    // The one-day VM's oldest point is past its first segment, which went whole.
    expect(prunedSegments).toEqual(['day']);
  }, 300_000);

  /** What the applier leaves after applying the step's heartbeat: the journal copy and the watermark. */
  async function applied(s: Sim, step: number, now: number): Promise<void> {
    const sequence = SEQ0 + step;
    const delta = makeDelta(s.vm, sequence, [], { first: now, last: now }, s.appConsistent(step));
    await new JournalWriter(rig().applier.journal).append(
      { resourceGroup: 'rg', vm: s.vm, generation: 1, sequence },
      encodeDelta(delta),
    );
    const item = (await rig().points.items.get('rg', s.vm))!;
    const patch: Partial<ProtectedItem> = { watermark: sequence, watermarkTime: now, lastAppliedAt: now };
    if (delta.appConsistent) patch.lastAppConsistentSequence = sequence;
    await rig().points.items.update(item, patch);
  }
});
