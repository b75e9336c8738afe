/**
 * "Prerequisites check": the VM exists in the source region and is running (Site Recovery can't
 * enable a stopped VM: its agent must be up), it is not already protected, and the fabric can read
 * and fail over each of its disks (in Azure: managed, a whole number of MiB). Decides the new
 * replication generation: one above any the VM had (its protected item, its agent config). Reads
 * only, so running it twice is harmless.
 */

import type { Direction } from '../../shared/direction';
import { lastAgentGeneration } from '../../shared/agentConfig';
import { TidemarkError } from '../../shared/errors';
import { checkNotProtected } from '../../shared/jobs/enableRules';
import { CONTAINERS } from '../../shared/storageNames';
import { replicatedDisks } from '../../shared/workflows/replicatedDisks';
import { enableServices } from './services.activities';
import type { EnableReplicationInput, EnableSource } from './types';

/**
 * The newest generation the VM's agent was given (0 when none): in its agent config, or, after
 * replication was stopped (commit, disable), in the tombstone left. In the region the VM runs in.
 */
export function agentConfigGeneration(
  resourceGroup: string,
  vm: string,
  direction: Direction = 'forward',
): Promise<number> {
  return lastAgentGeneration(
    enableServices(direction).source.getContainerClient(CONTAINERS.agentConfig),
    resourceGroup,
    vm,
  );
}

export async function checkPrerequisites(input: EnableReplicationInput): Promise<EnableSource> {
  const s = enableServices();
  const vm = await s.vms.findVm(input.resourceGroup, input.vm);
  if (!vm) {
    throw new TidemarkError('NotFound', `VM ${input.resourceGroup}/${input.vm} does not exist.`, {
      hint: 'Check the resource group and VM name.',
    });
  }
  const id = `${vm.resourceGroup}/${vm.name}`;
  const sourceRegion = s.fabric.regions.get(s.config.source.name).name;
  if (vm.region !== sourceRegion) {
    throw new TidemarkError(
      'Conflict',
      `VM ${id} is in ${vm.region}; replication runs from ${sourceRegion} to ${s.config.target.name}.`,
    );
  }
  if (vm.powerState !== 'Running') {
    throw new TidemarkError(
      'Conflict',
      `VM ${id} is ${vm.powerState}; replication can only be enabled for a running VM, whose mobility agent can start.`,
      { hint: 'Start the VM, then enable replication again.' },
    );
  }
  const item = await s.items.get(vm.resourceGroup, vm.name);
  checkNotProtected(item);
  const access = s.fabric.diskAccess(vm.region);
  for (const disk of vm.disks) access.checkReplicable(disk, id);
  const nicName = vm.nics[0];
  const nic = nicName
    ? await s.fabric.store(vm.region).networkInterfaces.get(vm.resourceGroup, nicName)
    : undefined;
  if (!nic) {
    throw new TidemarkError('Conflict', `VM ${id} has no network interface, so its network can't be mapped.`);
  }
  const previous = Math.max(item?.generation ?? 0, await agentConfigGeneration(vm.resourceGroup, vm.name));
  return {
    resourceGroup: vm.resourceGroup,
    vm: vm.name,
    region: vm.region,
    generation: previous + 1,
    disks: replicatedDisks(vm),
    vnet: { resourceGroup: nic.subnet.resourceGroup, name: nic.subnet.vnet },
    ...(vm.availabilitySet ? { availabilitySet: vm.availabilitySet } : {}),
    size: vm.size,
    subnet: nic.subnet.subnet,
    privateIp: nic.privateIp,
  };
}
