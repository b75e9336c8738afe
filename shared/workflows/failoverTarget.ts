/**
 * Where a failover puts the VM, decided from the protected item alone (pure, so the rules are tested
 * without storage): the target VM's name, whether a VM already there is one this item made, the subnet
 * its NIC goes in, and what to tell the user when the source's address or subnet could not be kept.
 */
import { TidemarkError } from '../errors';
import { nameKey, sameName } from '../fabric/names';
import type { VirtualMachine, VirtualNetwork } from '../fabric/types';
import type { ProtectedItem, VmRef } from '../protectedItems';

/** Tag on every VM a failover makes: `{rg}/{vm}` of its protected item, so a re-run knows it as its own. */
export const FAILOVER_TAG = 'tidemark-failover-of';

export function itemId(item: { resourceGroup: string; vm: string }): string {
  return `${item.resourceGroup}/${item.vm}`;
}

/** The VM a failover makes or updates: the original VM for a failback, else `{target rg}/{vm}`. */
export function failoverTargetVm(
  item: Pick<ProtectedItem, 'vm' | 'failbackTo'> & { target: { resourceGroup: string } },
  targetRegion: string,
): VmRef {
  if (item.failbackTo) return { ...item.failbackTo };
  return { region: targetRegion, resourceGroup: item.target.resourceGroup, name: item.vm };
}

function sameVm(a: { resourceGroup: string; name: string } | undefined, b: VirtualMachine): boolean {
  return a !== undefined && sameName(a.resourceGroup, b.resourceGroup) && sameName(a.name, b.name);
}

/** Whether `vm` (found at the target VM's name) is one this item made, or may take over. */
export function ownsTargetVm(
  item: Pick<ProtectedItem, 'resourceGroup' | 'vm' | 'failover' | 'failbackTo'>,
  vm: VirtualMachine,
): boolean {
  if (sameVm(item.failover?.vm, vm) || sameVm(item.failbackTo, vm)) return true;
  const tag = vm.tags?.[FAILOVER_TAG];
  return tag !== undefined && nameKey(tag) === nameKey(itemId(item));
}

/** Conflict unless the VM at the target name is absent or this item's own. */
export function checkTargetVmFree(
  item: Pick<ProtectedItem, 'resourceGroup' | 'vm' | 'failover' | 'failbackTo'>,
  existing: VirtualMachine | undefined,
): void {
  if (!existing || ownsTargetVm(item, existing)) return;
  const id = `${existing.resourceGroup}/${existing.name}`;
  throw new TidemarkError(
    'Conflict',
    `VM ${id} already exists in ${existing.region} and was not made by a failover of ${itemId(item)}; failover will not replace it.`,
    {
      hint: `Delete or rename VM ${id}, or enable replication again with another target resource group.`,
      details: { vm: id, region: existing.region },
    },
  );
}

export interface SubnetChoice {
  subnet: string;
  /** Set when the source's subnet is missing from the mapped VNet. */
  warning?: string;
}

/** The subnet of the mapped VNet named like the source's; its first subnet (with a warning) otherwise. */
export function chooseTargetSubnet(vnet: VirtualNetwork, sourceSubnet: string): SubnetChoice {
  const same = vnet.subnets.find((s) => sameName(s.name, sourceSubnet));
  if (same) return { subnet: same.name };
  const first = vnet.subnets[0];
  if (!first) {
    throw new TidemarkError(
      'Conflict',
      `Target virtual network ${vnet.resourceGroup}/${vnet.name} has no subnet, so the failed-over VM has no network to join.`,
      { hint: `Add a subnet ${sourceSubnet} to ${vnet.name}, then fail over again.` },
    );
  }
  return {
    subnet: first.name,
    warning: `Target virtual network ${vnet.name} has no subnet ${sourceSubnet} (the source VM's); the VM joined subnet ${first.name} instead.`,
  };
}

/** The warning when the NIC could not keep the source VM's address; undefined when it did. */
export function addressWarning(sourceIp: string, got: string, subnet: string): string | undefined {
  if (sourceIp === got) return undefined;
  return `Address ${sourceIp} (the source VM's) is taken or outside subnet ${subnet}; the VM got ${got}.`;
}
