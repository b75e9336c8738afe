/**
 * "Starting the test virtual machine": VM `{vm}-test` in the target resource group, Running, the
 * source VM's size, no availability set, its NIC and the test disks (attached by their `lun`), tagged
 * as the test VM of the protected item. A VM of that name without the tag is someone else's: Conflict.
 * Idempotent: a second run finds the VM and leaves it running.
 */
import { TidemarkError } from '../../shared/errors';
import type { VmDisk } from '../../shared/fabric/types';
import { GiB } from '../../shared/fabric/vmSpec';
import type { Logger } from '../../shared/logger';
import type { VmRef } from '../../shared/protectedItems';
import {
  isTestVmOf,
  TEST_FAILOVER_TAG,
  testVmName,
  testVmTagValue,
} from '../../shared/workflows/testFailoverNames';
import type { WorkflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import { claimedServices } from './services.activities';
import type { PlanRef, TestDisk, TestNetwork, TestNic } from './types';

export interface TestVmInput extends PlanRef {
  network: TestNetwork;
  nic: TestNic;
  disks: TestDisk[];
}

/**
 * Conflict when a VM called like the test VM exists and is not it: its disks are where the test disks
 * go, so nothing may be written before this is checked.
 */
export async function checkTestVmName(
  s: WorkflowServices,
  targetResourceGroup: string,
  ref: ClaimedRef,
): Promise<void> {
  const existing = await s.vms.findVm(targetResourceGroup, testVmName(ref.vm));
  if (existing && !isTestVmOf(existing, ref.resourceGroup, ref.vm)) {
    throw new TidemarkError(
      'Conflict',
      `VM ${existing.resourceGroup}/${existing.name} exists in ${existing.region} and is not the test VM of ${ref.resourceGroup}/${ref.vm}.`,
      { hint: 'Delete or rename that VM, then run the test failover again.' },
    );
  }
}

export async function startTestVm(input: TestVmInput, log: Logger): Promise<VmRef> {
  const { ref, plan, network, nic, disks } = input;
  const { s } = await claimedServices(ref);
  const name = testVmName(ref.vm);
  const tag = testVmTagValue(ref.resourceGroup, ref.vm);
  await checkTestVmName(s, plan.targetResourceGroup, ref);
  const { vm } = await s.vms.createOrUpdateVm(
    {
      resourceGroup: plan.targetResourceGroup,
      name,
      region: plan.targetRegion,
      vnet: network.name,
      vnetResourceGroup: network.resourceGroup,
      subnet: network.subnet,
      size: plan.size,
      disks: [...disks]
        .sort((a, b) => a.lun - b.lun)
        .map((d) => ({ name: d.name, sizeGiB: d.sizeBytes / GiB })),
      powerState: 'Running',
      tags: { [TEST_FAILOVER_TAG]: tag },
      privateIp: nic.privateIp,
    },
    madeDisks(disks),
  );
  log.info('Test VM running', { vm: `${vm.resourceGroup}/${vm.name}`, region: vm.region });
  return { region: vm.region, resourceGroup: vm.resourceGroup, name: vm.name };
}

/** The test disks as the VM record names them; none for histories from before they were kept. */
function madeDisks(disks: TestDisk[]): { disks: VmDisk[] } | undefined {
  if (!disks.every((d) => d.blob)) return undefined;
  return { disks: disks.map((d) => ({ name: d.name, lun: d.lun, sizeBytes: d.sizeBytes, blob: d.blob! })) };
}
