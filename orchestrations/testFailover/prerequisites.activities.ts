/**
 * "Prerequisites check" of a test failover: the job still holds the item, the item knows its target
 * (resource group, VNet) and its source VM (size, subnet, IP), no earlier test failover is still
 * there, no other VM has the test VM's name, and the recovery point asked for exists (`latest` cuts
 * one later). Reads only.
 */
import { TidemarkError } from '../../shared/errors';
import type { RecoveryPointChoice } from '../../shared/recoveryPoints/choice';
import { pickRecoveryPoint } from '../../shared/workflows/pickRecoveryPoint';
import type { ClaimedRef } from '../claimedJob';
import { claimedServices } from './services.activities';
import type { TestFailoverPlan } from './types';
import { checkTestVmName } from './vm.activities';

export interface PrerequisitesInput {
  ref: ClaimedRef;
  recoveryPoint: RecoveryPointChoice;
}

export async function checkPrerequisites(input: PrerequisitesInput): Promise<TestFailoverPlan> {
  const { ref, recoveryPoint } = input;
  const { s, item, targetRegion } = await claimedServices(ref);
  const id = `${item.resourceGroup}/${item.vm}`;
  if (!item.target || !item.sourceVm) {
    throw new TidemarkError(
      'Conflict',
      `The protected item of VM ${id} does not record its ${item.target ? 'source VM' : 'replication target'}, which a test failover needs.`,
      { hint: 'Disable replication and enable it again, which records both.' },
    );
  }
  if (item.testFailover) {
    const vm = item.testFailover.vm;
    throw new TidemarkError(
      'Conflict',
      `VM ${id} still has a test failover (test VM ${vm.resourceGroup}/${vm.name} in ${vm.region}, job ${item.testFailover.jobId}).`,
      { hint: 'Clean up the test failover first.' },
    );
  }
  await checkTestVmName(s, item.target.resourceGroup, ref);
  if (recoveryPoint !== 'latest') {
    pickRecoveryPoint(id, await s.points.catalog.list(item.resourceGroup, item.vm), recoveryPoint);
  }
  return {
    targetRegion,
    targetResourceGroup: item.target.resourceGroup,
    targetVnet: { ...item.target.vnet },
    size: item.sourceVm.size,
    subnet: item.sourceVm.subnet,
    privateIp: item.sourceVm.privateIp,
  };
}
