/**
 * Whether a VNet may hold a test VM. A test failover must not reach production: the VNet a VM fails
 * over into (the protected item's target VNet), or any VNet with a network mapping, is refused. The
 * test NIC goes into the subnet named like the source VM's, so the VNet must have one. Pure: the
 * caller reads the VNet and its mapping.
 */
import { TidemarkError } from '../errors';
import { sameName } from '../fabric/names';
import type { NetworkMapping, Subnet, VirtualNetwork, VnetRef } from '../fabric/types';
import { findSubnet } from '../fabric/virtualNetworks';

export interface TestNetworkCandidate {
  vnet: VirtualNetwork;
  /** The protected item's target VNet, which failover uses. */
  targetVnet: VnetRef;
  /** A network mapping from this VNet, if it has one. */
  mapping?: NetworkMapping;
  /** The source VM's subnet name. */
  subnet: string;
  /** What to suggest instead (the default test network's name). */
  defaultName: string;
}

function sameVnet(a: VnetRef, b: VnetRef): boolean {
  return sameName(a.resourceGroup, b.resourceGroup) && sameName(a.name, b.name);
}

/** The subnet the test NIC goes into; Conflict when the VNet is not isolated or has no such subnet. */
export function checkTestNetwork(c: TestNetworkCandidate): Subnet {
  const id = `${c.vnet.resourceGroup}/${c.vnet.name}`;
  const instead = `Name an isolated VNet, or leave network out to let test failover create ${c.defaultName}.`;
  if (sameVnet(c.vnet, c.targetVnet)) {
    throw new TidemarkError(
      'Conflict',
      `VNet ${id} is the network this VM fails over into; a test VM there would not be isolated from production.`,
      { hint: instead, details: { vnet: c.vnet.name } },
    );
  }
  if (c.mapping) {
    const other = c.mapping.targetVnet;
    throw new TidemarkError(
      'Conflict',
      `VNet ${id} is mapped to ${other.resourceGroup}/${other.name} in ${c.mapping.targetRegion}; a test VM there would not be isolated from production.`,
      { hint: instead, details: { vnet: c.vnet.name } },
    );
  }
  const subnet = findSubnet(c.vnet, c.subnet);
  if (!subnet) {
    throw new TidemarkError(
      'Conflict',
      `VNet ${id} has no subnet ${c.subnet}, the subnet of the source VM, where the test VM's NIC goes (it has ${c.vnet.subnets.map((s) => s.name).join(', ') || 'none'}).`,
      { hint: `Add a subnet ${c.subnet} to it, or leave network out.`, details: { vnet: c.vnet.name } },
    );
  }
  return subnet;
}

/** NICs other than `nic` (if given) that have an address in the VNet (a VNet in use is not deleted). */
export function otherNicsIn(vnet: VirtualNetwork, nic?: { resourceGroup: string; name: string }): string[] {
  const mine = (c: { nic: { resourceGroup: string; name: string } }): boolean =>
    nic !== undefined && sameName(c.nic.resourceGroup, nic.resourceGroup) && sameName(c.nic.name, nic.name);
  return vnet.subnets.flatMap((s) =>
    (s.ipConfigurations ?? []).filter((c) => !mine(c)).map((c) => `${c.nic.resourceGroup}/${c.nic.name}`),
  );
}
