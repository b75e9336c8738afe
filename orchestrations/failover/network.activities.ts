/**
 * "Creating the network interface": a target VM that already exists (a re-run, a change of point, a
 * failback onto the original VM) keeps its primary NIC. Otherwise NIC `{vm}-nic` in the target
 * resource group, in the mapped VNet's subnet named like the source VM's (its first subnet when
 * there is none such), with the source VM's private IP when it is free there. ensureNic claims the
 * address ETag-conditionally and returns the same NIC to a re-run.
 */
import { TidemarkError } from '../../shared/errors';
import type { FabricStore } from '../../shared/fabric/fabricStore';
import { ensureNic } from '../../shared/fabric/networkInterfaces';
import { nicNameFor } from '../../shared/fabric/vmService';
import { checkClaimed } from '../../shared/jobs/claims';
import type { Logger } from '../../shared/logger';
import { addressWarning, checkTargetVmFree, chooseTargetSubnet } from '../../shared/workflows/failoverTarget';
import { workflowServices } from '../../shared/workflows/services';
import type { NicOutcome, PlannedRef } from './types';

/** The target resource group, made in the target region only when missing (the source may be down). */
async function ensureGroupIn(store: FabricStore, name: string): Promise<void> {
  if (await store.resourceGroups.get(name)) return;
  try {
    await store.resourceGroups.put({ name, region: store.region });
  } catch (err) {
    if (!(await store.resourceGroups.get(name))) throw err;
  }
}

export async function ensureTargetNic({ ref, plan }: PlannedRef, log: Logger): Promise<NicOutcome> {
  const s = workflowServices(ref.direction);
  const item = checkClaimed(await s.items.get(ref.resourceGroup, ref.vm), ref, ref.jobId);
  const { region, resourceGroup, name } = plan.targetVm;
  const store = s.fabric.store(region);
  const existing = await store.virtualMachines.get(resourceGroup, name);
  checkTargetVmFree(item, existing);
  const primary = existing?.nics[0];
  if (existing && primary) {
    const nic = await store.networkInterfaces.get(existing.resourceGroup, primary);
    if (nic) {
      return {
        nic: { resourceGroup: nic.resourceGroup, name: nic.name },
        privateIp: nic.privateIp,
        reused: true,
        warnings: [],
      };
    }
  }

  const vnetRef = plan.target.vnet;
  const vnet = await store.virtualNetworks.get(vnetRef.resourceGroup, vnetRef.name);
  if (!vnet) {
    throw new TidemarkError(
      'Conflict',
      `The target virtual network ${vnetRef.resourceGroup}/${vnetRef.name} of VM ${plan.vmId} does not exist in ${region}.`,
      {
        hint: 'Create it again (or disable and enable replication, which maps the network), then fail over again.',
      },
    );
  }
  const choice = chooseTargetSubnet(vnet, plan.sourceVm.subnet);
  await ensureGroupIn(store, resourceGroup);
  const nic = await ensureNic(
    store,
    {
      resourceGroup,
      name: nicNameFor(name),
      subnet: { resourceGroup: vnet.resourceGroup, vnet: vnet.name, subnet: choice.subnet },
      vm: name,
    },
    { preferred: plan.sourceVm.privateIp },
  );
  const warnings = [
    choice.warning,
    addressWarning(plan.sourceVm.privateIp, nic.privateIp, choice.subnet),
  ].filter((w): w is string => w !== undefined);
  log.info('Target NIC ready', { vm: plan.vmId, nic: nic.name, privateIp: nic.privateIp, warnings });
  return {
    nic: { resourceGroup: nic.resourceGroup, name: nic.name },
    privateIp: nic.privateIp,
    reused: false,
    warnings,
  };
}
