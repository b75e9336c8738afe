/** What the test-failover orchestration and its activities pass each other (JSON, in history). */
import type { RecoveryPointChoice } from '../../shared/recoveryPoints/choice';
import type { RecoveryPointType } from '../../shared/recoveryPoints/types';
import type { VmRef } from '../../shared/protectedItems';
import type { ClaimedJobInput, ClaimedRef } from '../claimedJob';
import type { MadeDisk } from '../../shared/workflows/replicatedDisks';

export interface TestFailoverInput extends ClaimedJobInput {
  recoveryPoint: RecoveryPointChoice;
  /** A VNet in the target resource group to put the test VM in; absent: `<target vnet>-test`. */
  network?: string;
}

/** What the prerequisites check found: where the test VM goes and what it copies of the source VM. */
export interface TestFailoverPlan {
  targetRegion: string;
  targetResourceGroup: string;
  /** The item's target VNet (failover's network, never the test one). */
  targetVnet: { resourceGroup: string; name: string };
  size: string;
  subnet: string;
  privateIp: string;
}

export interface PlanRef {
  ref: ClaimedRef;
  plan: TestFailoverPlan;
}

export interface SyncResult {
  watermark: number;
  pointId?: string;
  /** Why no point could be cut, when none was (the newest processed point is used). */
  note?: string;
}

export interface TestNetwork {
  resourceGroup: string;
  name: string;
  subnet: string;
  /** Whether this job created the VNet (then cleanup deletes it). */
  created: boolean;
}

export type TestDisk = MadeDisk;

export interface TestDisks {
  pointId: string;
  pointType: RecoveryPointType;
  /** Source time (ms) the disks are consistent as of (after any journal replay). */
  pointTime: number;
  disks: TestDisk[];
}

export interface TestNic {
  resourceGroup: string;
  name: string;
  privateIp: string;
}

export interface TestFailoverResult {
  testVm: VmRef;
  network: { resourceGroup: string; name: string };
  recoveryPoint: { id: string; type: RecoveryPointType; time: string };
}

export const TEST_FAILOVER_ACTIVITIES = {
  prerequisites: 'testFailoverPrerequisites',
  sync: 'testFailoverSynchronize',
  network: 'testFailoverNetwork',
  disks: 'testFailoverDisks',
  nic: 'testFailoverNic',
  vm: 'testFailoverStartVm',
  release: 'testFailoverRelease',
} as const;
