/**
 * "Deleting the test network": the test NIC, its private IP given back to the subnet first (so a
 * retry never leaves an address claimed by a NIC that is gone), then the test VNet, only when a test
 * failover made it and no other NIC still has an address in it. A NIC attached to another VM, or a
 * VNet the user named, is left alone. Idempotent: what is gone already is fine.
 */
import { isTidemarkError } from '../../shared/errors';
import type { FabricStore } from '../../shared/fabric/fabricStore';
import type { IpConfiguration } from '../../shared/fabric/types';
import { sameName } from '../../shared/fabric/names';
import { releasePrivateIp } from '../../shared/fabric/networkInterfaces';
import type { Logger } from '../../shared/logger';
import { otherNicsIn } from '../../shared/workflows/testNetwork';
import { claimedServices } from '../testFailover/services.activities';
import type { DeleteNetworkInput, DeleteNetworkResult } from './types';

const ATTEMPTS = 5;

/** Releases every address `nic` holds in the VNet (its record may be gone already). */
async function releaseAll(store: FabricStore, input: DeleteNetworkInput): Promise<void> {
  const vnet = await store.virtualNetworks.get(input.vnet.resourceGroup, input.vnet.name);
  if (!vnet) return;
  const mine = (c: IpConfiguration): boolean =>
    sameName(c.nic.resourceGroup, input.nic.resourceGroup) && sameName(c.nic.name, input.nic.name);
  for (const subnet of vnet.subnets) {
    if (!(subnet.ipConfigurations ?? []).some(mine)) continue;
    const ref = { resourceGroup: vnet.resourceGroup, vnet: vnet.name, subnet: subnet.name };
    await releasePrivateIp(store, ref, input.nic);
  }
}

/** Deletes the NIC unless it serves another VM; true when it is gone. */
async function deleteNic(store: FabricStore, input: DeleteNetworkInput, notes: string[]): Promise<boolean> {
  const nic = await store.networkInterfaces.get(input.nic.resourceGroup, input.nic.name);
  if (nic && (!input.vmOurs || (nic.vm !== undefined && !sameName(nic.vm, input.vm)))) {
    notes.push(
      `NIC ${nic.resourceGroup}/${nic.name} belongs to VM ${nic.vm ?? input.vm}, which is not the test VM any more, so it was left alone.`,
    );
    return false;
  }
  if (nic) await releasePrivateIp(store, nic.subnet, nic);
  await releaseAll(store, input);
  if (nic) await store.networkInterfaces.delete(nic.resourceGroup, nic.name);
  return true;
}

/** Deletes the VNet unless a NIC still uses it; true when it is gone. */
async function deleteVnet(
  store: FabricStore,
  input: DeleteNetworkInput,
  nicGone: boolean,
  notes: string[],
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const vnet = await store.virtualNetworks.get(input.vnet.resourceGroup, input.vnet.name);
    if (!vnet) return true;
    const others = otherNicsIn(vnet, nicGone ? input.nic : undefined);
    if (others.length > 0) {
      notes.push(
        `VNet ${vnet.resourceGroup}/${vnet.name} was kept: NIC${others.length > 1 ? 's' : ''} ${others.join(', ')} still use${others.length > 1 ? '' : 's'} it.`,
      );
      return false;
    }
    try {
      await store.virtualNetworks.delete(vnet.resourceGroup, vnet.name, { etag: vnet.etag });
      return true;
    } catch (err) {
      if (!isTidemarkError(err, 'Conflict') || attempt >= ATTEMPTS) throw err;
    }
  }
}

export async function deleteTestNetwork(
  input: DeleteNetworkInput,
  log: Logger,
): Promise<DeleteNetworkResult> {
  const { s } = await claimedServices(input.ref);
  const store = s.fabric.store(input.region);
  const notes: string[] = [];
  const nicGone = await deleteNic(store, input, notes);
  const vnetGone = input.createdVnet ? await deleteVnet(store, input, nicGone, notes) : false;
  log.info('Test network deleted', {
    nic: `${input.nic.resourceGroup}/${input.nic.name}`,
    vnet: input.createdVnet ? `${input.vnet.resourceGroup}/${input.vnet.name}` : null,
    notes,
  });
  return { nicGone, vnetGone, notes };
}
