/** What the reprotect orchestration and its activities pass each other (JSON, in history). */
import type { BlobRef } from '../../shared/fabric/types';
import type { ClaimedRef } from '../claimedJob';
import type { EnableSource, VmGeneration } from '../enable/types';
import type {
  ProtectionTarget,
  ReplicatedDiskInfo,
  ReplicationPolicy,
  VmRef,
} from '../../shared/protectedItems';

/** One disk of the failed-over VM and the old disk of the original VM its replica starts from. */
export interface SeedDisk {
  disk: ReplicatedDiskInfo;
  /** The old disk's `blob.name` in the original region; absent when the old disk is gone. */
  seedBlob?: string;
  /** The old disk as the original VM's record names it (absent in histories from before it was kept). */
  seed?: BlobRef;
}

/** The replication back: the failed-over VM as the new source, the original VM's place as target. */
export interface ReprotectPlan {
  /** The failed-over VM, to be protected in the reverse direction of the claimed item. */
  source: EnableSource;
  target: ProtectionTarget;
  failbackTo: VmRef;
  policy?: ReplicationPolicy;
  seeds: SeedDisk[];
  /** The new item: its VM, generation and direction. */
  reverse: VmGeneration & { direction: NonNullable<VmGeneration['direction']> };
}

export interface SyncDiskInput {
  reverse: ReprotectPlan['reverse'];
  disk: ReplicatedDiskInfo;
}

export interface SyncDiskResult {
  /** Bytes looked at (the union of both sides' allocated ranges). */
  comparedBytes: number;
  /** Bytes written to the replica because their hashes differed. */
  sentBytes: number;
  /** Bytes cleared on the replica because the failed-over disk has none there. */
  clearedBytes: number;
}

export interface CompleteInput {
  claimed: ClaimedRef;
  plan: ReprotectPlan;
}

export interface ReprotectResult {
  protectedItem: { resourceGroup: string; vm: string; region: string };
  direction: string;
  target: ProtectionTarget;
  generation: number;
  firstRecoveryPoint: string | null;
  comparedBytes: number;
  sentBytes: number;
  clearedBytes: number;
}

export const REPROTECT_ACTIVITIES = {
  prerequisites: 'reprotectPrerequisites',
  seed: 'reprotectSeedReplicas',
  syncDisk: 'reprotectSyncDisk',
  complete: 'reprotectComplete',
} as const;
