/**
 * "Identifying replication target": in the target region, the target resource group (`<rg>-asr`),
 * the target VNet (`<vnet>-asr`, same address space and subnets, in the target group) with the
 * network mapping both ways, and the target availability set (`<avset>-asr`) when the VM has one.
 * Each is created or reused; each name can be overridden. An existing mapping of the source VNet
 * decides the target VNet unless the request names another, which is then a Conflict. Idempotent:
 * every write is "create when absent".
 */
import { isTidemarkError, TidemarkError } from '../../shared/errors';
import { ensureAvailabilitySet } from '../../shared/fabric/availabilitySets';
import type { FabricStore } from '../../shared/fabric/fabricStore';
import { checkName, sameName } from '../../shared/fabric/names';
import { ensureResourceGroup } from '../../shared/fabric/resourceGroups';
import type { NetworkMapping, VnetRef } from '../../shared/fabric/types';
import { ensureVirtualNetwork } from '../../shared/fabric/virtualNetworks';
import { asrName } from '../../shared/jobs/enableRules';
import type { ProtectionTarget } from '../../shared/protectedItems';
import { enableServices } from './services.activities';
import type { EnableOverrides, EnableSource } from './types';

export interface IdentifyTargetInput {
  source: EnableSource;
  overrides: EnableOverrides;
}

/** Puts `mapping` in `store` unless one for its source VNet exists (a concurrent put is fine too). */
async function ensureMapping(store: FabricStore, mapping: NetworkMapping): Promise<void> {
  if (await store.networkMappings.get(mapping.sourceVnet, mapping.targetRegion)) return;
  try {
    await store.networkMappings.put(mapping);
  } catch (err) {
    if (!isTidemarkError(err, 'Conflict')) throw err;
  }
}

function sameVnet(a: VnetRef, b: VnetRef): boolean {
  return sameName(a.resourceGroup, b.resourceGroup) && sameName(a.name, b.name);
}

export async function identifyTarget(input: IdentifyTargetInput): Promise<ProtectionTarget> {
  const { source, overrides } = input;
  const s = enableServices();
  const targetRegion = s.fabric.regions.get(s.config.target.name).name;
  const sourceStore = s.fabric.store(source.region);
  const targetStore = s.fabric.store(targetRegion);

  const resourceGroup = checkName(
    'resourceGroup',
    overrides.targetResourceGroup ?? asrName(source.resourceGroup),
  );
  const sourceVnet = await sourceStore.virtualNetworks.get(source.vnet.resourceGroup, source.vnet.name);
  if (!sourceVnet) {
    throw new TidemarkError(
      'Conflict',
      `VNet ${source.vnet.resourceGroup}/${source.vnet.name} of VM ${source.resourceGroup}/${source.vm} does not exist.`,
    );
  }
  const sourceRef: VnetRef = { resourceGroup: sourceVnet.resourceGroup, name: sourceVnet.name };
  const mapped = await sourceStore.networkMappings.get(sourceRef, targetRegion);
  const asked: VnetRef | undefined = overrides.targetVnet
    ? { resourceGroup, name: checkName('virtualNetwork', overrides.targetVnet) }
    : undefined;
  if (mapped && asked && !sameVnet(mapped.targetVnet, asked)) {
    throw new TidemarkError(
      'Conflict',
      `VNet ${sourceRef.name} is already mapped to ${mapped.targetVnet.resourceGroup}/${mapped.targetVnet.name} in ${targetRegion}, not ${asked.resourceGroup}/${asked.name}.`,
      { hint: `Leave targetVnet out to use ${mapped.targetVnet.name}, or remove the network mapping first.` },
    );
  }
  const vnetRef: VnetRef = mapped?.targetVnet ?? asked ?? { resourceGroup, name: asrName(sourceVnet.name) };

  const group = await ensureResourceGroup(s.fabric, targetRegion, resourceGroup);
  if (!sameName(vnetRef.resourceGroup, resourceGroup))
    await ensureResourceGroup(s.fabric, targetRegion, vnetRef.resourceGroup);
  const vnet = await ensureVirtualNetwork(targetStore, {
    resourceGroup: vnetRef.resourceGroup,
    name: vnetRef.name,
    addressSpace: sourceVnet.addressSpace,
    subnets: sourceVnet.subnets.map((sn) => ({ name: sn.name, addressPrefix: sn.addressPrefix })),
  });
  const targetRef: VnetRef = { resourceGroup: vnet.resourceGroup, name: vnet.name };
  await ensureMapping(sourceStore, {
    sourceRegion: sourceStore.region,
    sourceVnet: sourceRef,
    targetRegion: targetStore.region,
    targetVnet: targetRef,
  });
  await ensureMapping(targetStore, {
    sourceRegion: targetStore.region,
    sourceVnet: targetRef,
    targetRegion: sourceStore.region,
    targetVnet: sourceRef,
  });

  const avsetName =
    overrides.targetAvailabilitySet ?? (source.availabilitySet ? asrName(source.availabilitySet) : undefined);
  const avset = avsetName
    ? await ensureAvailabilitySet(targetStore, group.name, checkName('availabilitySet', avsetName))
    : undefined;
  return {
    region: targetStore.region,
    resourceGroup: group.name,
    vnet: targetRef,
    ...(avset ? { availabilitySet: avset.name } : {}),
  };
}
