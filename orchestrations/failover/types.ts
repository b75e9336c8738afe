/** What the failover orchestration and its activities pass each other (JSON, kept in history). */
import type {
  FailoverRecord,
  ProtectionTarget,
  ReplicatedDiskInfo,
  SourceVmInfo,
  VmRef,
} from '../../shared/protectedItems';
import type { RecoveryPointChoice } from '../../shared/recoveryPoints/choice';
import type { PointSelector } from '../../shared/recoveryPoints/resolvePoint';
import type { RecoveryPointType } from '../../shared/recoveryPoints/types';
import type { ClaimedJobInput, ClaimedRef } from '../claimedJob';
import type { MadeDisk } from '../../shared/workflows/replicatedDisks';

export interface FailoverInput extends ClaimedJobInput {
  recoveryPoint: RecoveryPointChoice;
  shutdownSource: boolean;
}

/** What the prerequisites check found: everything later steps need, so none reads the source region. */
export interface FailoverPlan {
  /** `{rg}/{vm}` of the protected item. */
  vmId: string;
  sourceRegion: string;
  targetRegion: string;
  sourceVm: SourceVmInfo;
  target: ProtectionTarget;
  disks: ReplicatedDiskInfo[];
  /** The VM the failover makes or updates. */
  targetVm: VmRef;
  /** The item was FailedOver: this run changes the recovery point of the failed-over VM. */
  changingPoint: boolean;
  /** The failover this run changes, when changingPoint. */
  previous?: FailoverRecord;
  /** Whether the source region's storage answered within 3 s, and why not. */
  sourceReachable: boolean;
  sourceError?: string;
}

/** What every activity after the prerequisites check gets. */
export interface PlannedRef {
  ref: ClaimedRef;
  plan: FailoverPlan;
}

export interface ShutdownOutcome {
  stopped: boolean;
  /** Why it could not be stopped. */
  reason?: string;
  /** The agent was still up after the wait (its last writes may not have reached the cache). */
  agentStillRunning?: boolean;
}

export interface SyncOutcome {
  pointId: string;
  /** Set when `latest` fell back to the newest point: why, in a sentence. */
  note?: string;
}

export interface ResolvePointInput extends PlannedRef {
  choice: Exclude<RecoveryPointChoice, 'latest'>;
}

export interface StopTargetOutcome {
  /** Whether a target VM existed (and is now stopped). */
  existed: boolean;
  /** False when its agent still served the disks after the wait. */
  agentStopped: boolean;
}

export interface MaterializeInput extends PlannedRef {
  selector: PointSelector;
}

export type TargetDisk = MadeDisk;

export interface TargetDisks {
  disks: TargetDisk[];
  point: { id: string; type: RecoveryPointType; time: number };
  /** Source time and sequence of the newest delta in the disks. */
  replayedThrough: { sequence: number; time: number };
  replayedDeltas: number;
}

export interface NicOutcome {
  nic: { resourceGroup: string; name: string };
  privateIp: string;
  /** Whether the existing VM's NIC was reused. */
  reused: boolean;
  warnings: string[];
}

export interface StartVmInput extends PlannedRef {
  nic: NicOutcome;
  disks: TargetDisks;
  choice: string;
  note?: string;
}

export interface FailoverResult {
  targetVm: { region: string; resourceGroup: string; name: string };
  recoveryPoint: { id: string; type: RecoveryPointType; time: string };
  replayedThrough?: string;
  privateIp: string;
  note?: string;
}

export const FAILOVER_ACTIVITIES = {
  prerequisites: 'failoverPrerequisites',
  shutdown: 'failoverShutdownSource',
  sync: 'failoverSyncLatest',
  resolvePoint: 'failoverResolvePoint',
  stopTarget: 'failoverStopTargetVm',
  materialize: 'failoverMaterializeDisks',
  nic: 'failoverEnsureNic',
  start: 'failoverStartVm',
} as const;
