/**
 * NICs and their private IPs. An address is claimed in the subnet's `ipConfigurations` with an
 * ETag-conditional write of the VNet, so two NICs never get the same one; the NIC record follows.
 * Claims are idempotent per NIC: a retried create gets the address it claimed before.
 */
import { isTidemarkError, TidemarkError } from '../errors';
import { type AllocateOptions, nextFreeIp, parseCidr } from './cidr';
import type { FabricStore } from './fabricStore';
import { sameName } from './names';
import type { NetworkInterface, ResourceRef, SubnetRef, VirtualNetwork } from './types';
import { findSubnet, subnetKey } from './virtualNetworks';

const MAX_ATTEMPTS = 20;

async function getVnet(store: FabricStore, ref: SubnetRef): Promise<VirtualNetwork> {
  const vnet = await store.virtualNetworks.get(ref.resourceGroup, ref.vnet);
  if (!vnet || !findSubnet(vnet, ref.subnet)) {
    throw new TidemarkError(
      'NotFound',
      `Subnet ${ref.resourceGroup}/${ref.vnet}/${ref.subnet} does not exist.`,
      {
        details: { ...ref },
      },
    );
  }
  return vnet;
}

/** Claims a private IP for `nic` in the subnet (the one it already holds there, if any). */
export async function claimPrivateIp(
  store: FabricStore,
  ref: SubnetRef,
  nic: ResourceRef,
  options: AllocateOptions = {},
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const vnet = await getVnet(store, ref);
    const subnet = findSubnet(vnet, ref.subnet)!;
    const configs = subnet.ipConfigurations ?? [];
    const mine = configs.find(
      (c) => sameName(c.nic.resourceGroup, nic.resourceGroup) && sameName(c.nic.name, nic.name),
    );
    if (mine) return mine.privateIp;
    const ip = nextFreeIp(parseCidr(subnet.addressPrefix), new Set(configs.map((c) => c.privateIp)), options);
    if (ip === undefined) {
      throw new TidemarkError(
        'Conflict',
        `Subnet ${ref.vnet}/${subnet.name} (${subnet.addressPrefix}) has no free address.`,
        {
          details: { ...ref },
        },
      );
    }
    const subnets = vnet.subnets.map((s) =>
      s === subnet ? { ...s, ipConfigurations: [...configs, { nic: { ...nic }, privateIp: ip }] } : s,
    );
    try {
      await store.virtualNetworks.put({ ...vnet, subnets });
      return ip;
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/** Gives up `nic`'s address in the subnet; nothing when it holds none. */
export async function releasePrivateIp(store: FabricStore, ref: SubnetRef, nic: ResourceRef): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const vnet = await store.virtualNetworks.get(ref.resourceGroup, ref.vnet);
    const subnet = vnet && findSubnet(vnet, ref.subnet);
    const configs = subnet?.ipConfigurations ?? [];
    const kept = configs.filter(
      (c) => !(sameName(c.nic.resourceGroup, nic.resourceGroup) && sameName(c.nic.name, nic.name)),
    );
    if (!vnet || kept.length === configs.length) return;
    const subnets = vnet.subnets.map((s) => (s === subnet ? { ...s, ipConfigurations: kept } : s));
    try {
      await store.virtualNetworks.put({ ...vnet, subnets });
      return;
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/** Why the existing NIC cannot serve `vm` in `subnet`, or undefined when it can. */
export function nicMismatch(nic: NetworkInterface, subnet: SubnetRef, vm: string): string | undefined {
  if (nic.vm !== undefined && !sameName(nic.vm, vm)) return `NIC ${nic.name} is attached to VM ${nic.vm}`;
  if (subnetKey(nic.subnet) !== subnetKey(subnet)) {
    return `NIC ${nic.name} is in subnet ${nic.subnet.vnet}/${nic.subnet.subnet}, not ${subnet.vnet}/${subnet.subnet}`;
  }
  return undefined;
}

/** The NIC `name` for `vm` in the subnet, created with a claimed address when absent. */
export async function ensureNic(
  store: FabricStore,
  input: { resourceGroup: string; name: string; subnet: SubnetRef; vm: string },
  options: AllocateOptions = {},
): Promise<NetworkInterface> {
  for (let attempt = 1; ; attempt++) {
    const existing = await store.networkInterfaces.get(input.resourceGroup, input.name);
    if (existing) {
      const mismatch = nicMismatch(existing, input.subnet, input.vm);
      if (mismatch) throw new TidemarkError('Conflict', `${mismatch}.`, { details: { nic: existing.name } });
      if (existing.vm !== undefined) return existing;
      return store.networkInterfaces.put({ ...existing, vm: input.vm });
    }
    const privateIp = await claimPrivateIp(store, input.subnet, input, options);
    try {
      return await store.networkInterfaces.put({
        resourceGroup: input.resourceGroup,
        name: input.name,
        region: store.region,
        subnet: { ...input.subnet },
        privateIp,
        vm: input.vm,
      });
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}
