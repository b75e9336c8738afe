/**
 * "Deleting the test virtual machine": the test VM's record (its NIC is detached; the local VM runner
 * then stops its agent and drops its NBD endpoint row), then, once nothing serves them, its disks
 * with their snapshots. Only a VM tagged as this item's test VM is deleted. Idempotent: what is gone
 * already is fine.
 */
import type { Logger } from '../../shared/logger';
import { isTestVmOf, TEST_FAILOVER_TAG } from '../../shared/workflows/testFailoverNames';
import { claimedServices } from '../testFailover/services.activities';
import type { DeleteDisksInput, DeleteVmInput, DeleteVmResult } from './types';

export async function deleteTestVm(input: DeleteVmInput, log: Logger): Promise<DeleteVmResult> {
  const { ref, vm } = input;
  const { s } = await claimedServices(ref);
  const found = await s.fabric.store(vm.region).virtualMachines.get(vm.resourceGroup, vm.name);
  if (!found) return { deleted: false, ours: true };
  if (!isTestVmOf(found, ref.resourceGroup, ref.vm)) {
    return {
      deleted: false,
      ours: false,
      note: `VM ${found.resourceGroup}/${found.name} is not the test VM of ${ref.resourceGroup}/${ref.vm} any more (its ${TEST_FAILOVER_TAG} tag differs); it and its disks were left alone.`,
    };
  }
  const deleted = await s.vms.deleteVm(found.resourceGroup, found.name);
  log.info('Test VM deleted', { vm: `${found.resourceGroup}/${found.name}`, region: found.region });
  return { deleted, ours: true };
}

/** Whether the VM's agent no longer publishes an NBD endpoint (always true where there are none, in Azure). */
export async function testVmAgentStopped(input: DeleteVmInput): Promise<boolean> {
  const { s } = await claimedServices(input.ref);
  return (await s.fabric.endpoints(input.vm.region).get(input.vm.resourceGroup, input.vm.name)) === undefined;
}

export async function deleteTestDisks(input: DeleteDisksInput, log: Logger): Promise<string[]> {
  const { s } = await claimedServices(input.ref);
  await s.fabric.diskAccess(input.region).delete(input.blobs);
  log.info('Test disks deleted', { region: input.region, disks: input.blobs });
  return input.blobs;
}
