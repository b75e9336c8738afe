/** Recovery points: what one is, its id, and the per-disk snapshot limit they live under. */

export const RECOVERY_POINT_TYPES = ['CrashConsistent', 'AppConsistent'] as const;

export type RecoveryPointType = (typeof RECOVERY_POINT_TYPES)[number];

/** One replica disk of a point: the disk as it was when the point was cut, and its snapshot. */
export interface RecoveryPointDisk {
  lun: number;
  name: string;
  sizeBytes: number;
  /** Snapshot id (a timestamp) of the replica page blob `replicas/{rg}/{vm}/{name}`. */
  snapshot: string;
}

export interface RecoveryPoint {
  resourceGroup: string;
  vm: string;
  /** `rp-{generation}-{sequence}`: one point per watermark. */
  id: string;
  type: RecoveryPointType;
  generation: number;
  /** The watermark it was cut at: every delta up to this one is in it, none after. */
  sequence: number;
  /** Source time (ms) of the newest write or heartbeat it contains (the item's watermarkTime). */
  time: number;
  /** Wall-clock time (ms) it was cut. */
  cutAt: number;
  disks: RecoveryPointDisk[];
}

/** Premium page blobs allow 100 snapshots per blob; tidemark holds every replica to it. */
export const MAX_SNAPSHOTS_PER_DISK = 100;

/** Blob metadata key on every snapshot tidemark takes, naming its point (to find orphans). */
export const SNAPSHOT_POINT_METADATA = 'tidemarkrecoverypoint';

export function recoveryPointId(generation: number, sequence: number): string {
  return `rp-${generation}-${sequence}`;
}

/** The inverse of recoveryPointId; undefined for anything else. */
export function parseRecoveryPointId(id: string): { generation: number; sequence: number } | undefined {
  const match = /^rp-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/.exec(id);
  if (!match) return undefined;
  const generation = Number(match[1]);
  const sequence = Number(match[2]);
  if (!Number.isSafeInteger(generation) || !Number.isSafeInteger(sequence)) return undefined;
  return { generation, sequence };
}

/** Newest first: a later generation, then a higher sequence. */
export function newestFirst(a: { generation: number; sequence: number }, b: typeof a): number {
  return b.generation - a.generation || b.sequence - a.sequence;
}
