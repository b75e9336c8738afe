/**
 * How a protected item looks in the VM routes: its state, and RPO and health as of now (the rules are
 * shared/recoveryPoints/health.ts, the same the recovery-point timer records), with the replication
 * facts a portal shows beside them.
 */
import type {
  ItemHealth,
  ProtectedItem,
  ProtectedItemState,
  ReplicatedDiskInfo,
  ReplicationPolicy,
  ReplicationStats,
} from '../protectedItems';
import { assessHealth } from '../recoveryPoints/health';

export interface ProtectionView {
  state: ProtectedItemState;
  health: ItemHealth;
  /** Why the health is not Healthy. */
  healthReasons: string[];
  /** Null until the first delta (or heartbeat) is applied. */
  rpoSeconds: number | null;
  generation: number;
  watermark: number;
  watermarkTime: string | null;
  lastAppliedAt: string | null;
  lastRecoveryPointAt: string | null;
  lastAppConsistentSequence: number | null;
  resyncReason: string | null;
  policy: Partial<ReplicationPolicy> | null;
  stats: ReplicationStats | null;
  disks: ReplicatedDiskInfo[];
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export function protectionView(item: ProtectedItem, now: number): ProtectionView {
  const { health, reasons, rpoSeconds } = assessHealth(item, now);
  return {
    state: item.state,
    health,
    healthReasons: reasons,
    rpoSeconds: rpoSeconds ?? null,
    generation: item.generation,
    watermark: item.watermark,
    watermarkTime: iso(item.watermarkTime),
    lastAppliedAt: iso(item.lastAppliedAt),
    lastRecoveryPointAt: iso(item.lastRecoveryPointAt),
    lastAppConsistentSequence: item.lastAppConsistentSequence ?? null,
    resyncReason: item.resyncReason ?? null,
    policy: item.policy ?? null,
    stats: item.stats ?? null,
    disks: item.disks,
  };
}
