/** What the test-failover cleanup orchestration and its activities pass each other (JSON, in history). */
import type { ProtectedItemState, VmRef } from '../../shared/protectedItems';
import type { ClaimedRef } from '../claimedJob';

export interface DeleteVmInput {
  ref: ClaimedRef;
  vm: VmRef;
}

export interface DeleteVmResult {
  deleted: boolean;
  /** False when a VM of that name is someone else's: then its disks are left alone too. */
  ours: boolean;
  /** Why something was left alone. */
  note?: string;
}

export interface DeleteDisksInput {
  ref: ClaimedRef;
  region: string;
  blobs: string[];
}

export interface DeleteNetworkInput {
  ref: ClaimedRef;
  region: string;
  nic: { resourceGroup: string; name: string };
  vnet: { resourceGroup: string; name: string };
  createdVnet: boolean;
  /** The test VM's name: the NIC is deleted only while attached to it or to nothing. */
  vm: string;
  /** False when a VM of the test VM's name is someone else's now: then its NIC (same name) is kept. */
  vmOurs: boolean;
}

export interface DeleteNetworkResult {
  /** Whether the NIC is gone now (deleted, or gone already). */
  nicGone: boolean;
  /** Whether the VNet is gone now; false when it was kept (the user's, or still in use). */
  vnetGone: boolean;
  notes: string[];
}

export interface CleanupResult {
  /** What is gone now (deleted by this job, or gone already); null for what was kept. */
  removed: {
    vm: VmRef | null;
    disks: string[];
    nic: { resourceGroup: string; name: string } | null;
    vnet: { resourceGroup: string; name: string } | null;
  };
  state: ProtectedItemState;
}

export const CLEANUP_ACTIVITIES = {
  prerequisites: 'testCleanupPrerequisites',
  deleteVm: 'testCleanupDeleteVm',
  agentStopped: 'testCleanupAgentStopped',
  deleteDisks: 'testCleanupDeleteDisks',
  deleteNetwork: 'testCleanupDeleteNetwork',
  release: 'testCleanupRelease',
} as const;
