/**
 * Virtual networks and subnets: created explicitly with their address space (the demo fabric, a
 * failover's target network), or on demand for a VM as `az vm create` does: a missing VNet gets
 * 10.0.0.0/16 and a missing subnet the next free /24 of the VNet's address space.
 */
import { isTidemarkError, TidemarkError } from '../errors';
import { checkAddressSpace, checkSubnets, nextFreeSubnet, parseCidr } from './cidr';
import type { FabricStore } from './fabricStore';
import { nameKey, sameName } from './names';
import type { Subnet, Tags, VirtualNetwork } from './types';

export const DEFAULT_ADDRESS_SPACE = '10.0.0.0/16';
export const DEFAULT_SUBNET_PREFIX = 24;
const MAX_ATTEMPTS = 10;

export interface VirtualNetworkInput {
  resourceGroup: string;
  name: string;
  addressSpace: string[];
  subnets: { name: string; addressPrefix: string }[];
  tags?: Tags;
}

/** The subnet called `name` (any case) of `vnet`. */
export function findSubnet(vnet: VirtualNetwork, name: string): Subnet | undefined {
  return vnet.subnets.find((s) => sameName(s.name, name));
}

/** The prefix a new subnet would get in `vnet` (or in a new default VNet); Conflict when it is full. */
export function plannedSubnetPrefix(vnet: VirtualNetwork | undefined, subnetName: string): string {
  if (!vnet) return nextFreeSubnet([parseCidr(DEFAULT_ADDRESS_SPACE)], [], DEFAULT_SUBNET_PREFIX)!.text;
  const existing = findSubnet(vnet, subnetName);
  if (existing) return existing.addressPrefix;
  const space = vnet.addressSpace.map((s) => parseCidr(s));
  const taken = vnet.subnets.map((s) => parseCidr(s.addressPrefix));
  const free = nextFreeSubnet(space, taken, DEFAULT_SUBNET_PREFIX);
  if (!free) {
    throw new TidemarkError(
      'Conflict',
      `Virtual network ${vnet.name} has no room for subnet ${subnetName}: its address space (${vnet.addressSpace.join(', ')}) is taken by its subnets.`,
      { details: { vnet: vnet.name, subnet: subnetName } },
    );
  }
  return free.text;
}

/**
 * The VNet with the subnet `subnetName`, creating either as needed (see the file's comment). A
 * concurrent change is retried; a full address space is a Conflict.
 */
export async function ensureSubnet(
  store: FabricStore,
  ref: { resourceGroup: string; vnet: string; subnet: string },
): Promise<{ vnet: VirtualNetwork; subnet: Subnet }> {
  for (let attempt = 1; ; attempt++) {
    const vnet = await store.virtualNetworks.get(ref.resourceGroup, ref.vnet);
    const existing = vnet && findSubnet(vnet, ref.subnet);
    if (vnet && existing) return { vnet, subnet: existing };
    const subnet: Subnet = { name: ref.subnet, addressPrefix: plannedSubnetPrefix(vnet, ref.subnet) };
    const next: VirtualNetwork = vnet
      ? { ...vnet, subnets: [...vnet.subnets, subnet] }
      : {
          resourceGroup: ref.resourceGroup,
          name: ref.vnet,
          region: store.region,
          addressSpace: [DEFAULT_ADDRESS_SPACE],
          subnets: [subnet],
        };
    try {
      const saved = await store.virtualNetworks.put(next);
      return { vnet: saved, subnet: findSubnet(saved, ref.subnet)! };
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/**
 * The VNet as given, created when absent. When it exists, its subnets that are missing are added
 * (a same-named subnet with another prefix is a Conflict) and its address space is kept.
 */
export async function ensureVirtualNetwork(
  store: FabricStore,
  input: VirtualNetworkInput,
): Promise<VirtualNetwork> {
  const space = checkAddressSpace(input.addressSpace);
  checkSubnets(space, input.subnets);
  for (let attempt = 1; ; attempt++) {
    const vnet = await store.virtualNetworks.get(input.resourceGroup, input.name);
    let next: VirtualNetwork;
    if (!vnet) {
      next = {
        resourceGroup: input.resourceGroup,
        name: input.name,
        region: store.region,
        addressSpace: [...input.addressSpace],
        subnets: input.subnets.map((s) => ({ ...s })),
        ...(input.tags ? { tags: input.tags } : {}),
      };
    } else {
      const missing = input.subnets.filter((s) => {
        const have = findSubnet(vnet, s.name);
        if (have && have.addressPrefix !== s.addressPrefix) {
          throw new TidemarkError(
            'Conflict',
            `Subnet ${vnet.name}/${have.name} exists with prefix ${have.addressPrefix}, not ${s.addressPrefix}.`,
            { details: { vnet: vnet.name, subnet: have.name } },
          );
        }
        return !have;
      });
      if (missing.length === 0) return vnet;
      next = { ...vnet, subnets: [...vnet.subnets, ...missing.map((s) => ({ ...s }))] };
    }
    try {
      return await store.virtualNetworks.put(next);
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/** Lower-cased `resourceGroup/vnet/subnet`, for comparing subnet references. */
export function subnetKey(ref: { resourceGroup: string; vnet: string; subnet: string }): string {
  return [ref.resourceGroup, ref.vnet, ref.subnet].map(nameKey).join('/');
}
