/**
 * Which recovery points to keep: Site Recovery's thinning (reference/dr-anchors.md §1), pure.
 *
 *   age of a point            retention ≤ 1 day   > 1 day to 7 days   > 7 days (to 15)
 *   0 to 2 h                  every point         every point         every point
 *   2 h to 7 days             1 per hour          1 per 2 h           1 per 2 h
 *   7 days to the retention   -                   -                   1 per 4 h
 *   past the retention        pruned              pruned              pruned
 *   retention 0: only the newest point.
 *
 * Ages count back from the newest point's time, not the clock, so when no new points come nothing
 * ages out (Site Recovery keeps old points until newer ones exist). Buckets are aligned to multiples
 * of their width; each keeps its newest app-consistent point, else its newest point (app-consistent
 * points are thinned with the rest, as Site Recovery does, but win their bucket), and loses it
 * when that point passes the retention. A 4-hour bucket only applies once all of it is older than
 * 7 days. With these choices the kept set depends only on the points ever cut, not on how often
 * pruning ran. Then the cap: while more than `maxPoints` are
 * kept, the point whose removal leaves the smallest gap goes (crash-consistent before
 * app-consistent, older first), so density gives way before history; the newest and the oldest
 * kept point stay.
 */
import type { ReplicationPolicy } from '../protectedItems';
import { MAX_SNAPSHOTS_PER_DISK, newestFirst, type RecoveryPointType } from './types';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Every point younger than this is kept. */
export const ALL_POINTS_MS = 2 * HOUR;

export interface RetentionCandidate {
  id: string;
  type: RecoveryPointType;
  generation: number;
  sequence: number;
  /** Source time (ms) of the newest write in the point. */
  time: number;
}

export interface RetentionOptions {
  /** Most points kept (default 100: one snapshot per disk each). */
  maxPoints?: number;
}

export interface RetentionDecision<P> {
  /** Newest first. */
  keep: P[];
  prune: P[];
}

/** The bucket a point older than 2 h falls in, by the retention's tier. */
function bucketKey(time: number, newestTime: number, retentionHours: number): string {
  const key = (width: number): string => `${width}:${Math.floor(time / width)}`;
  if (retentionHours <= 24) return key(HOUR);
  if (retentionHours <= 7 * 24) return key(2 * HOUR);
  const coarse = Math.floor(time / (4 * HOUR));
  return newestTime - (coarse + 1) * 4 * HOUR >= 7 * DAY ? key(4 * HOUR) : key(2 * HOUR);
}

export function retain<P extends RetentionCandidate>(
  points: readonly P[],
  policy: ReplicationPolicy,
  options: RetentionOptions = {},
): RetentionDecision<P> {
  const sorted = [...points].sort(newestFirst);
  if (sorted.length === 0) return { keep: [], prune: [] };
  const newestTime = Math.max(...sorted.map((p) => p.time));
  const retentionMs = policy.retentionHours * HOUR;
  const keep = new Set<P>([sorted[0]!]);
  if (policy.retentionHours > 0) {
    const buckets = new Map<string, P>();
    for (const p of sorted) {
      const age = newestTime - p.time;
      if (age <= ALL_POINTS_MS) {
        if (age <= retentionMs) keep.add(p);
        continue;
      }
      const key = bucketKey(p.time, newestTime, policy.retentionHours);
      const held = buckets.get(key);
      // Newest first, so the first seen is the bucket's newest; the first app-consistent one wins.
      if (!held || (held.type !== 'AppConsistent' && p.type === 'AppConsistent')) buckets.set(key, p);
    }
    // A bucket's point is chosen before the retention cut, so a bucket the retention edge crosses
    // keeps nothing once its chosen point is too old, as it would had pruning run all along.
    for (const p of buckets.values()) if (newestTime - p.time <= retentionMs) keep.add(p);
  }
  const kept = capPoints(
    sorted.filter((p) => keep.has(p)),
    Math.max(1, options.maxPoints ?? MAX_SNAPSHOTS_PER_DISK),
  );
  const keptSet = new Set(kept);
  return { keep: kept, prune: sorted.filter((p) => !keptSet.has(p)) };
}

/** Drops points (not the newest, nor the oldest while 3 or more remain) until at most `max` are left. */
function capPoints<P extends RetentionCandidate>(kept: P[], max: number): P[] {
  const out = [...kept];
  while (out.length > max) {
    if (out.length <= 2) return out.slice(0, max);
    let drop = 1;
    for (let i = 2; i < out.length - 1; i++) {
      const gap = out[i - 1]!.time - out[i + 1]!.time;
      const best = out[drop - 1]!.time - out[drop + 1]!.time;
      const ac = Number(out[i]!.type === 'AppConsistent');
      const bestAc = Number(out[drop]!.type === 'AppConsistent');
      if (gap < best || (gap === best && ac <= bestAc)) drop = i;
    }
    out.splice(drop, 1);
  }
  return out;
}
