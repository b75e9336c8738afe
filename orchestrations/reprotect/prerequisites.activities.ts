/**
 * Reprotect's "Prerequisites check": the claimed item was failed over and committed, the VM it failed
 * over to exists and runs. Plans the replication back: that VM becomes the source of a new protected
 * item in the opposite direction, whose target is where the original VM is (its resource group, VNet
 * and availability set) and which fails back onto the original VM. Each replica starts from the
 * original VM's old disk when it is still there, so only blocks that differ need to travel. Reads only.
 */
import { TidemarkError } from '../../shared/errors';
import type { Direction } from '../../shared/direction';
import { checkNotProtected } from '../../shared/jobs/enableRules';
import { checkClaimed } from '../../shared/jobs/claims';
import { effectivePolicy } from '../../shared/recoveryPoints/policy';
import type { VirtualMachine } from '../../shared/fabric/types';
import { replicatedDisk, replicatedDisks } from '../../shared/workflows/replicatedDisks';
import { workflowServices } from '../../shared/workflows/services';
import type { ClaimedRef } from '../claimedJob';
import { agentConfigGeneration } from '../enable/prerequisites.activities';
import type { ReprotectPlan, SeedDisk } from './types';

export function oppositeOf(direction: Direction): Direction {
  return direction === 'forward' ? 'reverse' : 'forward';
}

export async function reprotectPrerequisites(ref: ClaimedRef): Promise<ReprotectPlan> {
  const here = workflowServices(ref.direction);
  const item = checkClaimed(await here.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const id = `${item.resourceGroup}/${item.vm}`;
  const failover = item.failover;
  if (item.activeJob?.previousState !== 'FailoverCommitted' || !failover) {
    throw new TidemarkError('Conflict', `VM ${id} has no committed failover to reprotect from.`, {
      hint: 'Fail it over and commit the failover first.',
    });
  }
  const original = item.sourceVm;
  if (!original) {
    throw new TidemarkError(
      'Conflict',
      `The protected item of ${id} does not record where its VM ran (it was enabled by an older tidemark).`,
      { hint: 'Disable replication and enable it for the failed-over VM instead.' },
    );
  }
  const direction = oppositeOf(ref.direction);
  const back = workflowServices(direction);
  const store = back.fabric.store(failover.vm.region);
  const vm = await store.virtualMachines.get(failover.vm.resourceGroup, failover.vm.name);
  const vmId = `${failover.vm.resourceGroup}/${failover.vm.name}`;
  if (!vm) {
    throw new TidemarkError(
      'NotFound',
      `The failed-over VM ${vmId} no longer exists in ${failover.vm.region}.`,
      {
        hint: 'Reprotect replicates the failed-over VM back; enable replication for another VM instead.',
      },
    );
  }
  if (vm.powerState !== 'Running') {
    throw new TidemarkError(
      'Conflict',
      `The failed-over VM ${vmId} is ${vm.powerState}; its agent must run to replicate it back.`,
      {
        hint: 'Start the VM, then reprotect again.',
      },
    );
  }
  const nic = vm.nics[0] ? await store.networkInterfaces.get(vm.resourceGroup, vm.nics[0]) : undefined;
  if (!nic) throw new TidemarkError('Conflict', `The failed-over VM ${vmId} has no network interface.`);
  const existing = await back.items.get(vm.resourceGroup, vm.name);
  checkNotProtected(existing);
  const generation =
    Math.max(existing?.generation ?? 0, await agentConfigGeneration(vm.resourceGroup, vm.name, direction)) +
    1;

  return {
    source: {
      resourceGroup: vm.resourceGroup,
      vm: vm.name,
      region: vm.region,
      generation,
      disks: replicatedDisks(vm),
      vnet: { resourceGroup: nic.subnet.resourceGroup, name: nic.subnet.vnet },
      ...(vm.availabilitySet ? { availabilitySet: vm.availabilitySet } : {}),
      size: vm.size,
      subnet: nic.subnet.subnet,
      privateIp: nic.privateIp,
    },
    target: {
      region: original.region,
      resourceGroup: item.resourceGroup,
      vnet: original.vnet,
      ...(original.availabilitySet ? { availabilitySet: original.availabilitySet } : {}),
    },
    failbackTo: { region: original.region, resourceGroup: item.resourceGroup, name: item.vm },
    ...(item.policy ? { policy: effectivePolicy(item.policy) } : {}),
    seeds: await seedsFor(vm, item.resourceGroup, item.vm, original.region),
    reverse: { resourceGroup: vm.resourceGroup, vm: vm.name, generation, direction },
  };
}

/** Each disk of the failed-over VM with the original VM's disk of the same lun and size, if any. */
async function seedsFor(
  vm: VirtualMachine,
  resourceGroup: string,
  name: string,
  region: string,
): Promise<SeedDisk[]> {
  let old: VirtualMachine | undefined;
  try {
    old = await workflowServices('forward').fabric.store(region).virtualMachines.get(resourceGroup, name);
  } catch {
    old = undefined; // The original region's fabric is unreachable: full copies.
  }
  return vm.disks.map((d) => {
    // By lun: failover gave each disk the lun it had, but in Azure not its name (a managed disk of
    // its own, named after the job). The hash sync makes any seed right; a good one saves the copy.
    const match = old?.disks.find((o) => o.lun === d.lun && o.sizeBytes === d.sizeBytes);
    return {
      disk: replicatedDisk(d),
      ...(match ? { seedBlob: match.blob.name, seed: match.blob } : {}),
    };
  });
}
