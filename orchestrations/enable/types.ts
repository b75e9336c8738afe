/** What the enable-replication orchestration and its activities pass each other (JSON, in history). */
import type { Direction } from '../../shared/direction';
import type {
  ProtectionTarget,
  ReplicatedDiskInfo,
  ReplicationPolicy,
  VmRef,
} from '../../shared/protectedItems';

export interface EnableOverrides {
  targetResourceGroup?: string;
  targetVnet?: string;
  targetAvailabilitySet?: string;
}

export interface EnableReplicationInput {
  resourceGroup: string;
  vm: string;
  overrides: EnableOverrides;
  policy?: ReplicationPolicy;
}

/** The source VM as the prerequisites check found it, and the generation this run replicates. */
export interface EnableSource {
  resourceGroup: string;
  vm: string;
  region: string;
  generation: number;
  disks: ReplicatedDiskInfo[];
  vnet: { resourceGroup: string; name: string };
  availabilitySet?: string;
  /** What failover needs of the source VM, kept on the protected item. */
  size: string;
  subnet: string;
  privateIp: string;
}

export interface RegisterInput {
  source: EnableSource;
  target: ProtectionTarget;
  policy?: ReplicationPolicy;
  direction?: Direction;
  /** Reprotect: the original VM a failback fails over onto. */
  failbackTo?: VmRef;
}

export interface VmGeneration {
  resourceGroup: string;
  vm: string;
  generation: number;
  /** Absent: forward (enable replication); reverse: reprotect of a failed-over VM. */
  direction?: Direction;
}

export interface CopyDiskInput extends VmGeneration {
  disk: ReplicatedDiskInfo;
}

export interface AgentStatusSummary {
  generation: number | null;
  health: string;
  configError?: string;
  error?: string;
  updatedAt: string;
}

export interface FirstPointResult {
  outcome: string;
  watermark: number;
  pointId?: string;
  cutAt?: number;
}

export interface EnableReplicationResult {
  protectedItem: { resourceGroup: string; vm: string };
  targetResourceGroup: string;
  targetVnet: { resourceGroup: string; name: string };
  targetAvailabilitySet: string | null;
  generation: number;
  firstRecoveryPoint: string | null;
}

export const ENABLE_ACTIVITIES = {
  prerequisites: 'enablePrerequisites',
  target: 'enableIdentifyTarget',
  register: 'enableRegisterItem',
  replicas: 'enableCreateReplicas',
  agentConfig: 'enableWriteAgentConfig',
  agentStatus: 'enableReadAgentStatus',
  setState: 'enableSetInitialReplication',
  copyDisk: 'enableCopyDisk',
  startApply: 'enableStartApply',
  firstPoint: 'enableCutFirstPoint',
  protect: 'enableMarkProtected',
} as const;
