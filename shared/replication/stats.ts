/** Per-VM replication statistics the applier keeps on the protected item: volume, churn and lag. */
import { entryLength } from '../delta';
import type { Delta } from '../delta';
import type { ProtectedItem, ReplicationStats } from '../protectedItems';

/** Weight of the newest sample in the churn average. */
const CHURN_WEIGHT = 0.3;

export function nextStats(
  item: ProtectedItem,
  applied: readonly { delta: Delta }[],
  lastWriteTime: number,
  now: number,
): ReplicationStats {
  const prev = item.stats ?? { deltasApplied: 0, bytesApplied: 0 };
  const bytes = applied.reduce((n, p) => n + p.delta.entries.reduce((m, e) => m + entryLength(e), 0), 0);
  // Churn is bytes written per second of source time the deltas cover.
  const covered = Math.max(
    1,
    lastWriteTime - (item.watermarkTime ?? applied[0]?.delta.firstWriteTime ?? lastWriteTime),
  );
  const sample = (bytes * 1000) / covered;
  const churn =
    prev.churnBytesPerSecond === undefined
      ? sample
      : prev.churnBytesPerSecond * (1 - CHURN_WEIGHT) + sample * CHURN_WEIGHT;
  return {
    deltasApplied: prev.deltasApplied + applied.length,
    bytesApplied: prev.bytesApplied + bytes,
    lagMs: Math.max(0, now - lastWriteTime),
    churnBytesPerSecond: Math.round(churn),
  };
}
