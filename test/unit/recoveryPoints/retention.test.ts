import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { ReplicationPolicy } from '../../../shared/protectedItems';
import { ALL_POINTS_MS, retain, type RetentionCandidate } from '../../../shared/recoveryPoints/retention';
import type { RecoveryPointType } from '../../../shared/recoveryPoints/types';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1);

function point(
  sequence: number,
  time: number,
  type: RecoveryPointType = 'CrashConsistent',
): RetentionCandidate {
  return { id: `rp-1-${sequence}`, type, generation: 1, sequence, time };
}

function policy(retentionHours: number, appConsistentFrequencyMinutes = 0): ReplicationPolicy {
  return { retentionHours, appConsistentFrequencyMinutes };
}

/** Cuts a point every `periodMs` for `durationMs`, pruning after each cut as the timer does. */
function simulate(
  p: ReplicationPolicy,
  durationMs: number,
  opts: {
    periodMs?: number;
    appConsistentEveryMs?: number;
    maxPoints?: number;
    onStep?: (kept: RetentionCandidate[]) => void;
  } = {},
): { kept: RetentionCandidate[]; all: RetentionCandidate[] } {
  const period = opts.periodMs ?? 5 * MIN;
  let kept: RetentionCandidate[] = [];
  const all: RetentionCandidate[] = [];
  for (let seq = 1; seq * period <= durationMs; seq++) {
    const time = T0 + seq * period;
    const ac = opts.appConsistentEveryMs !== undefined && (seq * period) % opts.appConsistentEveryMs === 0;
    const next = point(seq, time, ac ? 'AppConsistent' : 'CrashConsistent');
    all.push(next);
    kept = retain([...kept, next], p, { maxPoints: opts.maxPoints ?? Infinity }).keep;
    opts.onStep?.(kept);
  }
  return { kept, all };
}

function clock(t: number): string {
  const h = Math.floor((t - T0) / HOUR);
  const m = Math.floor(((t - T0) % HOUR) / MIN);
  return `${h}:${String(m).padStart(2, '0')}`;
}

/** hh:mm since T0 for every time in [fromH, toH] hours, every `stepMin` minutes. */
function every(fromMin: number, toMin: number, stepMin: number): string[] {
  const out: string[] = [];
  for (let m = toMin; m >= fromMin; m -= stepMin) out.push(clock(T0 + m * MIN));
  return out;
}

describe('retention: three simulated days of 5-minute points', () => {
  it('retention 1 day: every point of the last 2 hours, then the newest point of each hour', () => {
    const { kept } = simulate(policy(24), 3 * DAY);
    const hourly = Array.from({ length: 22 }, (_, i) => `${69 - i}:55`);
    expect(kept.map((p) => clock(p.time))).toEqual([...every(70 * 60, 72 * 60, 5), ...hourly]);
  });

  it('retention 3 days: the last 2 hours, then one point per 2 hours back to the first', () => {
    const { kept } = simulate(policy(72), 3 * DAY);
    const twoHourly = Array.from({ length: 35 }, (_, i) => `${69 - 2 * i}:55`);
    expect(kept.map((p) => clock(p.time))).toEqual([...every(70 * 60, 72 * 60, 5), ...twoHourly]);
  });

  it('retention 0: only the latest point', () => {
    const { kept } = simulate(policy(0), 3 * DAY, {
      onStep: (k) => expect(k).toHaveLength(1),
    });
    expect(kept.map((p) => clock(p.time))).toEqual(['72:00']);
  });

  it('retention 1 hour: only the last hour, even inside the 2-hour window', () => {
    const { kept } = simulate(policy(1), 3 * DAY);
    expect(kept.map((p) => clock(p.time))).toEqual(every(71 * 60, 72 * 60, 5));
  });

  it('hourly app-consistent points win their bucket; crash points fill buckets without one', () => {
    const { kept } = simulate(policy(24, 120), 3 * DAY, { appConsistentEveryMs: 2 * HOUR });
    const zone = every(70 * 60, 72 * 60, 5);
    // Even hours hold an app-consistent point at hh:00; odd hours keep their newest crash point.
    const older = Array.from({ length: 22 }, (_, i) => 69 - i).map((h) =>
      h % 2 === 0 ? `${h}:00` : `${h}:55`,
    );
    expect(kept.map((p) => clock(p.time))).toEqual([...zone, ...older]);
    expect(kept.filter((p) => p.type === 'AppConsistent').map((p) => clock(p.time))).toEqual([
      '72:00',
      '70:00',
      ...older.filter((t) => t.endsWith(':00')),
    ]);
  });

  it('retention 15 days: 2-hour buckets for 7 days, then 4-hour buckets', () => {
    const { kept } = simulate(policy(360), 16 * DAY, { periodMs: 15 * MIN });
    const newest = kept[0]!.time;
    const ages = kept.map((p) => newest - p.time);
    expect(Math.max(...ages)).toBeLessThanOrEqual(15 * DAY);
    expect(Math.max(...ages)).toBeGreaterThan(15 * DAY - 4 * HOUR);
    const olderThan = (a: number, b: number): number[] => ages.filter((x) => x > a && x <= b);
    // 2 h to 7 days: one per 2 h (84 buckets, the one straddling 2 h shared with the window).
    expect(olderThan(ALL_POINTS_MS, 7 * DAY).length).toBeGreaterThanOrEqual(82);
    expect(olderThan(ALL_POINTS_MS, 7 * DAY).length).toBeLessThanOrEqual(84);
    // 7 to 15 days: one per 4 h (48 buckets, give or take the straddling one).
    expect(olderThan(7 * DAY, 15 * DAY).length).toBeGreaterThanOrEqual(47);
    expect(olderThan(7 * DAY, 15 * DAY).length).toBeLessThanOrEqual(50);
  });

  it('keeps old points while no new ones come (ages count from the newest point)', () => {
    const { kept } = simulate(policy(24), 3 * DAY);
    // Days pass without a cut: pruning again changes nothing.
    expect(retain(kept, policy(24)).keep).toEqual(kept);
  });
});

describe('retention: the snapshot cap', () => {
  it('never keeps more than 100 points, keeps the newest and the oldest, and thins the densest part', () => {
    const { kept } = simulate(policy(360), 16 * DAY, {
      periodMs: 15 * MIN,
      maxPoints: 100,
      onStep: (k) => expect(k.length).toBeLessThanOrEqual(100),
    });
    expect(kept).toHaveLength(100);
    const newest = kept[0]!.time;
    // History survives the cap: the window still reaches back close to 15 days.
    expect(newest - kept.at(-1)!.time).toBeGreaterThan(14 * DAY);
    expect(kept[0]!.sequence).toBe(16 * 96);
  });

  it('a cap of 1 keeps only the newest point', () => {
    const pts = [point(1, T0), point(2, T0 + MIN), point(3, T0 + 2 * MIN)];
    expect(retain(pts, policy(24), { maxPoints: 1 }).keep.map((p) => p.sequence)).toEqual([3]);
  });
});

describe('retention: properties', () => {
  const pointsArb = fc
    .array(
      fc.record({
        gap: fc.integer({ min: 1, max: 6 * HOUR }),
        ac: fc.boolean(),
      }),
      { minLength: 1, maxLength: 150 },
    )
    .map((steps) => {
      let time = T0;
      return steps.map((s, i) => {
        time += s.gap;
        return point(i + 1, time, s.ac ? 'AppConsistent' : 'CrashConsistent');
      });
    });
  const policyArb = fc.record({
    retentionHours: fc.integer({ min: 0, max: 360 }),
    appConsistentFrequencyMinutes: fc.constantFrom(0, 60, 240),
  });

  it('partitions the input, keeps the newest, honours the cap and the retention', () => {
    fc.assert(
      fc.property(pointsArb, policyArb, fc.integer({ min: 1, max: 120 }), (pts, pol, maxPoints) => {
        const { keep, prune } = retain(pts, pol, { maxPoints });
        expect(keep.length + prune.length).toBe(pts.length);
        expect(new Set([...keep, ...prune]).size).toBe(pts.length);
        expect(keep[0]).toBe(pts.at(-1));
        expect(keep.length).toBeLessThanOrEqual(maxPoints);
        const newest = pts.at(-1)!.time;
        for (const p of keep.slice(1)) expect(newest - p.time).toBeLessThanOrEqual(pol.retentionHours * HOUR);
        if (pol.retentionHours === 0) expect(keep).toHaveLength(1);
      }),
    );
  });

  it('without the cap: keeps every point of the last 2 h (within retention) and one per bucket', () => {
    fc.assert(
      fc.property(pointsArb, policyArb, (pts, pol) => {
        const { keep } = retain(pts, pol, { maxPoints: Infinity });
        const newest = pts.at(-1)!.time;
        const limit = Math.min(ALL_POINTS_MS, pol.retentionHours * HOUR);
        for (const p of pts) if (newest - p.time <= limit) expect(keep).toContain(p);
        const width = pol.retentionHours <= 24 ? HOUR : 2 * HOUR;
        const seen = new Map<number, number>();
        for (const p of keep) {
          if (newest - p.time <= ALL_POINTS_MS || newest - p.time > 7 * DAY) continue;
          const b = Math.floor(p.time / width);
          seen.set(b, (seen.get(b) ?? 0) + 1);
        }
        for (const n of seen.values()) expect(n).toBe(1);
      }),
    );
  });

  it('is idempotent and does not depend on how often it ran (without the cap)', () => {
    fc.assert(
      fc.property(
        pointsArb,
        policyArb,
        fc.array(fc.boolean(), { minLength: 150, maxLength: 150 }),
        (pts, pol, runs) => {
          const once = retain(pts, pol, { maxPoints: Infinity }).keep;
          expect(retain(once, pol, { maxPoints: Infinity }).keep).toEqual(once);
          let kept: RetentionCandidate[] = [];
          pts.forEach((p, i) => {
            kept.push(p);
            if (runs[i]) kept = retain(kept, pol, { maxPoints: Infinity }).keep;
          });
          expect(retain(kept, pol, { maxPoints: Infinity }).keep).toEqual(once);
        },
      ),
    );
  });

  it('prefers an app-consistent point within a bucket', () => {
    fc.assert(
      fc.property(pointsArb, fc.integer({ min: 3, max: 360 }), (pts, retentionHours) => {
        const { keep } = retain(pts, policy(retentionHours), { maxPoints: Infinity });
        const newest = pts.at(-1)!.time;
        for (const p of pts) {
          if (p.type !== 'AppConsistent' || keep.includes(p)) continue;
          const age = newest - p.time;
          if (age > retentionHours * HOUR) continue;
          // A dropped app-consistent point lost to a newer app-consistent one in its bucket.
          const rival = keep.find(
            (k) =>
              k.type === 'AppConsistent' &&
              k.time > p.time &&
              k.time - p.time < 4 * HOUR &&
              newest - k.time > ALL_POINTS_MS,
          );
          expect(rival, `app-consistent ${clock(p.time)} dropped`).toBeDefined();
        }
      }),
    );
  });
});
