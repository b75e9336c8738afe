/**
 * "Prerequisites check": the VM exists in the source region and is running (Site Recovery can't
 * enable a stopped VM: its agent must be up), and it is not already protected. Decides the new
 * replication generation: one above any the VM had (its protected item, its agent config). Reads
 * only, so running it twice is harmless.
 */
import { type ContainerClient, RestError } from '@azure/storage-blob';

import type { Direction } from '../../shared/direction';
import { agentConfigBlobName, retiredGenerationBlobName } from '../../shared/agentConfig';
import { TidemarkError } from '../../shared/errors';
import { checkNotProtected } from '../../shared/jobs/enableRules';
import { CONTAINERS } from '../../shared/storageNames';
import { enableServices } from './services.activities';
import type { EnableReplicationInput, EnableSource } from './types';

async function generationIn(container: ContainerClient, name: string): Promise<number> {
  try {
    const value = JSON.parse((await container.getBlobClient(name).downloadToBuffer()).toString('utf8')) as {
      generation?: unknown;
    };
    return typeof value.generation === 'number' ? value.generation : 0;
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return 0;
    if (err instanceof SyntaxError) return 0;
    throw err;
  }
}

/**
 * The newest generation the VM's agent was given (0 when none): in its agent config, or, after
 * replication was disabled, in the tombstone disable left. In the region the VM runs in.
 */
export async function agentConfigGeneration(
  resourceGroup: string,
  vm: string,
  direction: Direction = 'forward',
): Promise<number> {
  const configs = enableServices(direction).source.getContainerClient(CONTAINERS.agentConfig);
  const [current, retired] = await Promise.all([
    generationIn(configs, agentConfigBlobName(resourceGroup, vm)),
    generationIn(configs, retiredGenerationBlobName(resourceGroup, vm)),
  ]);
  return Math.max(current, retired);
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
    disks: vm.disks.map((d) => ({ lun: d.lun, name: d.name, sizeBytes: d.sizeBytes })),
    vnet: { resourceGroup: nic.subnet.resourceGroup, name: nic.subnet.vnet },
    ...(vm.availabilitySet ? { availabilitySet: vm.availabilitySet } : {}),
    size: vm.size,
    subnet: nic.subnet.subnet,
    privateIp: nic.privateIp,
  };
}
